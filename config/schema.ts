import { z } from "zod";
import { alertReceiverSchema, alertRoutingSchema } from "./alerts";
import { defaultContextLength } from "./context";
import { defaultImages, ImageKey, isPinned } from "./images";
import { scheduleIntervalSeconds } from "./schedule";

/** Every role a machine may hold; roles are config, so adding a GPU node is a config edit. */
export const roles = [
    "database",
    "database-replica",
    "edge",
    "tools",
    "inference",
    "gateway",
    "webui",
    "monitoring",
    "workstation",
] as const;
export type Role = (typeof roles)[number];

const dnsLabel = z
    .string()
    .regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, "must be a DNS label: lower-case letters, digits and '-', at most 63 characters");

const domainName = z
    .string()
    .regex(/^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, "must be a DNS name such as lab.internal");

const positiveNumber = z.number().gt(0, "must be greater than 0");
const port = z.number().int("must be a whole number").min(1, "must be a port from 1 to 65535").max(65535, "must be a port from 1 to 65535");
const absolutePath = z.string().regex(/^\/[^\s]*$/, "must be an absolute path such as /mnt/tank/models");
const duration = z.string().regex(/^\d+(ms|s|m|h|d|w|y)$/, "must be a duration such as 30s, 5m or 15d");
/** A Go duration (what Ollama parses): units up to hours, no days. */
const goDuration = z.string().regex(/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/, "must be a duration Ollama understands, such as 90s, 15m or 1h30m (no days)");

const gpuSchema = z.strictObject({
    /** nvidia (CUDA, GPU device request) or amd (ROCm, /dev/kfd + /dev/dri). */
    vendor: z.enum(["nvidia", "amd"], { error: "must be nvidia or amd" }),
    vramGb: positiveNumber,
    count: z.number().int("must be a whole number").min(1, "must be at least 1").default(1),
    hsaOverrideGfxVersion: z.string().regex(/^\d+\.\d+\.\d+$/, "must look like 10.3.0").optional(),
    /** Numeric ids of the host's render and video groups, for a non-root ROCm container. */
    renderGroupId: z.number().int().min(0).optional(),
    videoGroupId: z.number().int().min(0).optional(),
});

const machineSchema = z.strictObject({
    address: z.ipv4({ error: "must be an IPv4 address such as 192.168.1.10" }),
    roles: z.array(z.enum(roles, { error: `must be one of ${roles.join(", ")}` })),
    gpu: gpuSchema.optional(),
    memoryGb: positiveNumber.optional(),
    enabled: z.boolean().default(true),
    docker: z
        .strictObject({
            host: z.string().regex(/^(ssh|unix|tcp):\/\/\S+$/, "must be a Docker host URL such as ssh://user@host or unix:///var/run/docker.sock"),
        })
        .optional(),
});

const modelSchema = z.strictObject({
    name: z.string().regex(/^[a-z0-9][a-z0-9._\/-]*(:[A-Za-z0-9._-]+)?$/, "must be an Ollama model tag such as llama3.2:3b"),
    sizeGb: positiveNumber,
    nodes: z.array(dnsLabel).min(1, "must name at least one inference machine"),
    /** chat (default) or embedding: LiteLLM serves an embedding model through Ollama's embed API, and never falls back from it to a chat model. */
    kind: z.enum(["chat", "embedding"], { error: "must be chat or embedding" }).default("chat"),
    /** Ollama's num_ctx for this model, sent with every request; default ollama.contextLength (chat models). */
    contextLength: z.number().int().min(512, "must be at least 512 tokens").optional(),
});

const imagesSchema = z.strictObject(
    Object.fromEntries(
        (Object.keys(defaultImages) as ImageKey[]).map((key) => [
            key,
            z.string().refine(isPinned, "must be pinned to a version tag or digest (not latest)").optional(),
        ]),
    ) as Record<ImageKey, z.ZodOptional<z.ZodString>>,
);

/** The shape of `ai-platform:*` config, with defaults. Secret leaves are read separately (see load.ts). */
export const platformSchema = z.strictObject({
    domain: domainName.default("lab.internal"),
    lanCidr: z.cidrv4({ error: "must be an IPv4 CIDR such as 192.168.1.0/24" }),
    ssh: z
        .strictObject({
            user: z.string().regex(/^[a-z_][a-z0-9_-]*$/, "must be a user name"),
            port: port.default(22),
            privateKey: z.string().min(1).optional(),
        })
        .prefault({ user: "root" }),
    nas: z
        .strictObject({
            address: z.string().min(1, "must be the NAS address"),
            nfsVersion: z.enum(["3", "4", "4.1", "4.2"], { error: "must be 3, 4, 4.1 or 4.2" }).default("4.1"),
            exports: z.strictObject({ models: absolutePath, backups: absolutePath }),
        })
        .optional(),
    machines: z.record(z.string(), machineSchema),
    /** The operator's workstations: admitted to every published port (see docs/firewall.md). */
    adminCidrs: z.array(z.cidrv4({ error: "must be an IPv4 CIDR such as 192.168.10.50/32" })).default([]),
    /** The host firewall each machine gets from the service graph; `enabled: false` leaves every host's packet filter alone. */
    firewall: z.strictObject({ enabled: z.boolean({ error: "must be true or false" }).default(true) }).prefault({}),
    models: z.array(modelSchema).default([]),
    fallback: z
        .strictObject({
            model: z.string().min(1, "must name the external model, such as openai/gpt-4o-mini"),
            apiBase: z.url({ error: "must be a URL" }).optional(),
            apiKey: z.string().min(1, "must be set (pulumi config set --secret --path fallback.apiKey ...)"),
        })
        .optional(),
    images: imagesSchema.default({}),
    ports: z.record(z.string(), port).default({}),
    ollama: z
        .strictObject({
            /** A duration, whole seconds, or a negative value for forever (-1). */
            keepAlive: z
                .string()
                .regex(/^-?(\d+|(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+)$/, "must be a duration such as 30m or 2h, whole seconds, or -1 for forever")
                .default("30m"),
            numParallel: z.number().int().min(1).default(4),
            maxLoadedModels: z.number().int().min(1).default(2),
            flashAttention: z.boolean().default(true),
            loadTimeout: goDuration.default("15m"),
            /** The num_ctx of every chat model without its own contextLength (Ollama's own default, 4096, cuts long prompts). */
            contextLength: z.number().int().min(512, "must be at least 512 tokens").default(defaultContextLength),
            /** The inference machine that pulls into and prunes the shared store; default the first by name. */
            modelStoreWriter: dnsLabel.optional(),
        })
        .prefault({}),
    litellm: z
        .strictObject({
            routingStrategy: z.enum(["least-busy", "simple-shuffle", "latency-based-routing", "usage-based-routing-v2"]).default("simple-shuffle"),
            numRetries: z.number().int().min(0).default(2),
            timeoutSeconds: positiveNumber.default(600),
            allowedFails: z.number().int().min(0).default(1),
            cooldownSeconds: positiveNumber.default(60),
            /** Probe every deployment this often and route around those that fail (off by default: each probe loads the model). */
            healthCheckSeconds: z.number().int().min(10, "must be at least 10 seconds").optional(),
        })
        .prefault({}),
    postgres: z
        .strictObject({
            backupSchedule: z
                .string()
                .min(1)
                .refine((schedule) => scheduleIntervalSeconds(schedule) !== undefined, "must be a cron expression (5 or 6 fields), @daily/@hourly/@weekly/@monthly/@yearly, or @every <duration> such as @every 6h")
                .default("@daily"),
            backupKeepDays: z.number().int().min(1).default(7),
            backupKeepWeeks: z.number().int().min(0).default(4),
            backupKeepMonths: z.number().int().min(0).default(6),
            /** WAL (GB) the replica's slot may hold on the primary before it is dropped (a long-dead replica must not fill the disk). */
            maxSlotWalKeepSizeGb: z.number().int().min(1).default(10),
            /** Without a NAS: a directory on the database machine for the backups (default: the local volume ai-backups). */
            backupHostPath: absolutePath.optional(),
        })
        .prefault({}),
    edge: z
        .strictObject({
            adminUser: dnsLabel.default("admin"),
            acme: z
                .strictObject({
                    email: z.email({ error: "must be an e-mail address" }),
                    /** A lego DNS provider code, such as cloudflare or route53. */
                    dnsProvider: z.string().regex(/^[a-z0-9][a-z0-9.-]*$/, "must be a lego DNS provider code such as cloudflare"),
                    caServer: z.url({ error: "must be a URL" }).optional(),
                    /** The provider's credentials (secret), by the variable name lego reads, such as CF_DNS_API_TOKEN. */
                    credentials: z
                        .record(z.string().regex(/^[A-Z][A-Z0-9_]*$/, "must be an environment variable name such as CF_DNS_API_TOKEN"), z.string().min(1, "must not be empty"))
                        .default({}),
                })
                .optional(),
        })
        .prefault({}),
    dns: z
        .strictObject({
            upstreams: z.array(z.ipv4({ error: "must be an IPv4 resolver address" })).min(1).default(["1.1.1.1", "9.9.9.9"]),
        })
        .prefault({}),
    monitoring: z
        .strictObject({
            retention: duration.default("30d"),
            /** Where alerts go: slack, discord, telegram, email, ntfy, webhook receivers (see config/alerts.ts). */
            alerts: z.array(alertReceiverSchema).default([]),
            /** Grouping and repeat intervals of every notification. */
            routing: alertRoutingSchema,
            /** Legacy: one webhook receiving Alertmanager's JSON; the same as an alerts entry of type webhook. */
            alertWebhookUrl: z.url({ error: "must be a URL" }).optional(),
        })
        .prefault({}),
});

export type ParsedPlatform = z.output<typeof platformSchema>;
export type MachineConfig = ParsedPlatform["machines"][string];
export type GpuConfig = NonNullable<MachineConfig["gpu"]>;
export type ModelConfig = ParsedPlatform["models"][number];
