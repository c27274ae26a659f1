import * as assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { readStackConfig, runProgram, StackConfig } from "../harness/program";

const homelab = readStackConfig("Pulumi.homelab.yaml");
type Machines = Record<string, Record<string, unknown>>;
const machines = homelab.machines as Machines;

function withMachine(name: string, change: Record<string, unknown> | undefined): StackConfig {
    const next: Machines = { ...machines };
    if (change === undefined) delete next[name];
    else next[name] = { ...machines[name], ...change };
    return { ...homelab, machines: next };
}

function withModels(models: unknown[]): StackConfig {
    return { ...homelab, models };
}

/** Each case: a broken stack config, and what its error must say (the path and the problem). */
const cases: { name: string; config: StackConfig; expect: RegExp[] }[] = [
    { name: "missing lanCidr", config: { ...homelab, lanCidr: undefined }, expect: [/ai-platform:lanCidr: is required/] },
    { name: "lanCidr not a CIDR", config: { ...homelab, lanCidr: "192.168.10.0" }, expect: [/lanCidr: must be an IPv4 CIDR/] },
    { name: "domain with spaces", config: { ...homelab, domain: "my lab" }, expect: [/domain: must be a DNS name/] },
    { name: "backup schedule go-cron would reject", config: { ...homelab, postgres: { backupSchedule: "nightly" } }, expect: [/postgres\.backupSchedule: must be a cron expression .*@every <duration>/] },
    { name: "unknown top-level key", config: { ...homelab, machine: {} }, expect: [/ai-platform:machine: is not a known key/] },
    { name: "no machines", config: { ...homelab, machines: {}, models: [] }, expect: [/machines: must declare at least one machine/] },
    { name: "machine name not a DNS label", config: { ...homelab, machines: { ...machines, Kratos_2: { address: "192.168.10.40", roles: ["tools"] } } }, expect: [/machines\.Kratos_2: machine name must be a DNS label/] },
    { name: "machine name extends another's", config: { ...homelab, machines: { ...machines, "nyx-2": { address: "192.168.10.40", roles: ["tools"] } } }, expect: [/machines\.nyx-2: starts with another machine's name and '-' \(nyx\)/] },
    { name: "address not IPv4", config: withMachine("zelus", { address: "zelus.local" }), expect: [/machines\.zelus\.address: must be an IPv4 address/] },
    { name: "address outside lanCidr", config: withMachine("zelus", { address: "10.0.0.14" }), expect: [/machines\.zelus\.address: 10\.0\.0\.14 is outside lanCidr 192\.168\.10\.0\/24/] },
    { name: "duplicate address", config: withMachine("zelus", { address: "192.168.10.13" }), expect: [/machines\.zelus\.address: 192\.168\.10\.13 is already used by machine thanatos/] },
    { name: "unknown role", config: withMachine("zelus", { roles: ["toolz"] }), expect: [/machines\.zelus\.roles\[0\]: must be one of database, /] },
    { name: "unknown machine key", config: withMachine("zelus", { gpus: 1 }), expect: [/machines\.zelus\.gpus: is not a known key/] },
    { name: "no database machine", config: withMachine("erebus", { roles: ["tools"] }), expect: [/machines: exactly one enabled machine must have the database role; none has/] },
    { name: "database machine disabled", config: withMachine("erebus", { enabled: false }), expect: [/machines: exactly one enabled machine must have the database role/] },
    { name: "two database machines", config: withMachine("zelus", { roles: ["database"] }), expect: [/machines: at most one enabled machine may have the database role; erebus, zelus do/] },
    { name: "two replicas", config: withMachine("zelus", { roles: ["database-replica"] }), expect: [/at most one enabled machine may have the database-replica role/] },
    { name: "replica on the primary", config: withMachine("erebus", { roles: ["database", "database-replica"] }), expect: [/machines\.erebus\.roles: the database replica must not run on the primary's machine/] },
    { name: "gpu vendor unknown", config: withMachine("kratos", { gpu: { vendor: "intel", vramGb: 16 } }), expect: [/machines\.kratos\.gpu\.vendor: must be nvidia or amd/] },
    { name: "gpu without vramGb", config: withMachine("kratos", { gpu: { vendor: "nvidia" } }), expect: [/machines\.kratos\.gpu\.vramGb: is required/] },
    { name: "gpu vramGb zero", config: withMachine("kratos", { gpu: { vendor: "nvidia", vramGb: 0 } }), expect: [/machines\.kratos\.gpu\.vramGb: must be greater than 0/] },
    { name: "HSA override on NVIDIA", config: withMachine("kratos", { gpu: { vendor: "nvidia", vramGb: 24, hsaOverrideGfxVersion: "10.3.0" } }), expect: [/machines\.kratos\.gpu\.hsaOverrideGfxVersion: applies to AMD GPUs only/] },
    { name: "docker host not a URL", config: withMachine("zelus", { docker: { host: "zelus:2375" } }), expect: [/machines\.zelus\.docker\.host: must be a Docker host URL/] },
    { name: "model on an unknown machine", config: withModels([{ name: "llama3.1:8b", sizeGb: 5, nodes: ["kronos"] }]), expect: [/models\[0\]\.nodes\[0\]: kronos is not a machine in machines/] },
    { name: "model on a machine without inference", config: withModels([{ name: "llama3.1:8b", sizeGb: 5, nodes: ["moros"] }]), expect: [/models\[0\]\.nodes\[0\]: moros does not have the inference role/] },
    { name: "model too large for the GPU", config: withModels([{ name: "llama3.3:70b", sizeGb: 43, nodes: ["kratos"] }]), expect: [/models\[0\]\.nodes\[0\]: llama3\.3:70b needs 43 GB but kratos has 24 GB of VRAM/] },
    { name: "model fits but its context window does not", config: withModels([{ name: "qwen2.5-coder:14b", sizeGb: 9, nodes: ["nyx"], contextLength: 32768 }]), expect: [/models\[0\]\.nodes\[0\]: qwen2\.5-coder:14b needs 9 GB and about 24\.9 GB of KV cache \(32768 tokens of context x ollama\.numParallel 4\) but nyx has 16 GB of VRAM/] },
    { name: "model contextLength too small", config: withModels([{ name: "llama3.1:8b", sizeGb: 5, nodes: ["kratos"], contextLength: 100 }]), expect: [/models\[0\]\.contextLength: must be at least 512 tokens/] },
    { name: "duplicate model name", config: withModels([{ name: "llama3.1:8b", sizeGb: 5, nodes: ["kratos"] }, { name: "llama3.1:8b", sizeGb: 5, nodes: ["nyx"] }]), expect: [/models\[1\]\.name: llama3\.1:8b is listed more than once/] },
    { name: "model without nodes", config: withModels([{ name: "llama3.1:8b", sizeGb: 5, nodes: [] }]), expect: [/models\[0\]\.nodes: must name at least one inference machine/] },
    { name: "model sizeGb negative", config: withModels([{ name: "llama3.1:8b", sizeGb: -1, nodes: ["kratos"] }]), expect: [/models\[0\]\.sizeGb: must be greater than 0/] },
    { name: "model name not a tag", config: withModels([{ name: "Llama 3", sizeGb: 5, nodes: ["kratos"] }]), expect: [/models\[0\]\.name: must be an Ollama model tag/] },
    { name: "CPU inference node without memoryGb", config: { ...withMachine("zelus", { roles: ["tools", "inference"] }), models: [{ name: "qwen2.5:0.5b", sizeGb: 0.4, nodes: ["zelus"] }] }, expect: [/models\[0\]\.nodes\[0\]: zelus has no gpu: set machines\.zelus\.memoryGb/] },
    { name: "image pinned to latest", config: { ...homelab, images: { ollama: "ollama/ollama:latest" } }, expect: [/images\.ollama: must be pinned to a version tag or digest/] },
    { name: "postgres image without a major version", config: { ...homelab, images: { postgres: `postgres@sha256:${"0".repeat(64)}` } }, expect: [/images\.postgres: postgres@sha256:0+ must carry its major version in the tag/] },
    { name: "backup image older than the server", config: { ...homelab, images: { postgres: "postgres:18.1" } }, expect: [/images\.postgresBackup: pg_dump 17 cannot dump a PostgreSQL 18 server/] },
    { name: "image key unknown", config: { ...homelab, images: { olama: "ollama/ollama:0.12.6" } }, expect: [/images\.olama: is not a known key/] },
    { name: "model store writer without a NAS", config: { ...homelab, nas: undefined }, expect: [/ai-platform:ollama\.modelStoreWriter: applies to the shared model store on a NAS/] },
    { name: "backup host path with a NAS", config: { ...homelab, postgres: { backupHostPath: "/srv/backups" } }, expect: [/ai-platform:postgres\.backupHostPath: applies to a lab without a NAS; with nas the backups go to its export \/mnt\/tank\/ai\/backups/] },
    { name: "backup host path not absolute", config: { ...homelab, nas: undefined, ollama: {}, postgres: { backupHostPath: "backups" } }, expect: [/ai-platform:postgres\.backupHostPath: must be an absolute path/] },
    { name: "adminCidrs entry not a CIDR", config: { ...homelab, adminCidrs: ["192.168.10.50/32", "192.168.10.300/32"] }, expect: [/ai-platform:adminCidrs\[1\]: must be an IPv4 CIDR such as 192\.168\.10\.50\/32/] },
    { name: "adminCidrs not a list", config: { ...homelab, adminCidrs: "192.168.10.50/32" }, expect: [/ai-platform:adminCidrs: /] },
    { name: "firewall.enabled not a boolean", config: { ...homelab, firewall: { enabled: "no" } }, expect: [/ai-platform:firewall\.enabled: must be true or false/] },
    { name: "unknown firewall key", config: { ...homelab, firewall: { enable: false } }, expect: [/ai-platform:firewall\.enable: is not a known key/] },
    { name: "NAS export not absolute", config: { ...homelab, nas: { address: "192.168.10.5", exports: { models: "tank/models", backups: "/mnt/tank/backups" } } }, expect: [/nas\.exports\.models: must be an absolute path/] },
    { name: "NFS version unknown", config: { ...homelab, nas: { ...(homelab.nas as object), nfsVersion: "5" } }, expect: [/nas\.nfsVersion: must be 3, 4, 4\.1 or 4\.2/] },
    { name: "webui without a gateway", config: withMachine("orpheus", { roles: ["inference", "webui"] }), expect: [/the webui role needs an enabled machine with the gateway role/] },
    { name: "port clash on one machine", config: { ...homelab, ports: { grafana: 9090 } }, expect: [/ports: prometheus and grafana both publish 9090\/tcp on moros/] },
    { name: "port override for an unknown service", config: { ...homelab, ports: { graphana: 3002 } }, expect: [/ports\.graphana: is not a service/] },
    { name: "port override for an unknown extra port", config: { ...homelab, ports: { "traefik.http": 8080 } }, expect: [/ports\.traefik\.http: is not a service port; ports are .*traefik\.web, traefik\.websecure/] },
    { name: "extra port moved onto another service's port", config: { ...homelab, ports: { "traefik.websecure": 3001 } }, expect: [/ports: uptime-kuma and traefik both publish 3001\/tcp on hephaestus|ports: traefik and uptime-kuma both publish 3001\/tcp on hephaestus/] },
    { name: "port out of range", config: { ...homelab, ports: { grafana: 70000 } }, expect: [/ports\.grafana: must be a port from 1 to 65535/] },
    { name: "model store writer not an inference machine", config: { ...homelab, ollama: { modelStoreWriter: "moros" } }, expect: [/ollama\.modelStoreWriter: moros is not an enabled machine with the inference role/] },
    { name: "fallback without apiKey", config: { ...homelab, fallback: { model: "openai/gpt-4o-mini" } }, expect: [/fallback\.apiKey: is required/] },
    { name: "ssh port not a number", config: { ...homelab, ssh: { user: "deploy", port: "22" } }, expect: [/ssh\.port: /] },
    { name: "alert receiver of an unknown type", config: { ...homelab, monitoring: { alerts: [{ type: "matrix", url: "https://matrix.example.com/hook" }] } }, expect: [/monitoring\.alerts\[0\]\.type: must have a type: one of slack, discord, telegram, email, ntfy, webhook/] },
    { name: "alert receiver URL not a URL", config: { ...homelab, monitoring: { alerts: [{ type: "slack", url: "hooks.slack.com/services/T0/B0/x" }] } }, expect: [/monitoring\.alerts\[0\]\.url: must be an http\(s\) URL such as https:\/\/hooks\.slack\.com/] },
    { name: "telegram chat id as a string", config: { ...homelab, monitoring: { alerts: [{ type: "telegram", botToken: "123:abc", chatId: "42" }] } }, expect: [/monitoring\.alerts\[0\]\.chatId: .*expected number, received string/] },
    { name: "alert severity unknown", config: { ...homelab, monitoring: { alerts: [{ type: "discord", url: "https://discord.com/api/webhooks/1/x", severities: ["info"] }] } }, expect: [/monitoring\.alerts\[0\]\.severities\[0\]: must be one of critical, warning/] },
    { name: "SMTP password without a user name", config: { ...homelab, monitoring: { alerts: [{ type: "email", to: "oncall@example.com", from: "lab@example.com", smarthost: "smtp.example.com:587", password: "pw" }] } }, expect: [/monitoring\.alerts\[0\]\.username: is required with password/] },
    { name: "ntfy URL with a query", config: { ...homelab, monitoring: { alerts: [{ type: "ntfy", url: "https://ntfy.sh/lab?template=alertmanager" }] } }, expect: [/monitoring\.alerts\[0\]\.url: must be the topic URL without a query/] },
    { name: "repeat interval not a duration", config: { ...homelab, monitoring: { routing: { repeatInterval: "4 hours" } } }, expect: [/monitoring\.routing\.repeatInterval: must be a duration such as 4h or 1d/] },
    {
        name: "legacy alertWebhookUrl pointing at Slack",
        config: { ...homelab, monitoring: { alertWebhookUrl: "https://hooks.slack.com/services/T0/B0/legacy-secret" } },
        expect: [/monitoring\.alertWebhookUrl: is a Slack incoming webhook URL, which does not accept Alertmanager's webhook JSON .* pulumi config set --path 'monitoring\.alerts\[0\]\.type' slack && pulumi config set --secret --path 'monitoring\.alerts\[0\]\.url'/],
    },
];

describe("a broken stack config stops the program before any resource is registered", () => {
    test("the table covers at least 25 distinct mistakes", () => {
        assert.ok(cases.length >= 25, `only ${cases.length} cases`);
        assert.equal(new Set(cases.map((c) => c.name)).size, cases.length);
    });

    for (const { name, config, expect } of cases) {
        test(name, async () => {
            const run = await runProgram(config);
            assert.ok(run.error, "the program must fail");
            assert.ok(pulumi.RunError.isInstance(run.error), "a RunError prints its message without a stack trace");
            for (const pattern of expect) assert.match(run.error.message, pattern);
            assert.match(run.error.message, /nothing was deployed/);
            assert.deepEqual(run.resources.map((r) => r.name), [], "no resource may be registered");
        });
    }

    test("every shape problem is reported at once, one line each", async () => {
        const run = await runProgram({ ...withMachine("kratos", { gpu: { vendor: "nvidia", vramGb: 0 } }), domain: "bad domain", lanCidr: "nope" });
        assert.ok(run.error);
        const lines = run.error.message.split("\n").slice(1);
        assert.equal(lines.length, 3, run.error.message);
        assert.match(lines.join("\n"), /ai-platform:domain: must be a DNS name/);
        assert.match(lines.join("\n"), /ai-platform:lanCidr: must be an IPv4 CIDR/);
        assert.match(lines.join("\n"), /ai-platform:machines\.kratos\.gpu\.vramGb: must be greater than 0/);
    });

    test("a shape problem names the bad value, but never one of a key that may hold a credential", async () => {
        const run = await runProgram({ ...withMachine("kratos", { gpu: { vendor: "nvidia", vramGb: "twenty-four" } }), fallback: { model: "openai/gpt-4o-mini", apiKey: 12345 } });
        assert.ok(run.error);
        assert.match(run.error.message, /ai-platform:machines\.kratos\.gpu\.vramGb: .*expected number.* \(got "twenty-four"\)/);
        assert.match(run.error.message, /ai-platform:fallback\.apiKey: .*\(got a value not repeated here\)/);
        assert.doesNotMatch(run.error.message, /12345/);
    });

    test("every rule problem is reported at once, one line each", async () => {
        const config = withMachine("zelus", { address: "10.0.0.14", roles: ["database"] });
        const run = await runProgram({ ...config, models: [{ name: "llama3.3:70b", sizeGb: 43, nodes: ["kratos"] }] });
        assert.ok(run.error);
        const lines = run.error.message.split("\n").slice(1);
        assert.equal(lines.length, 3, run.error.message);
        assert.match(lines[0], /machines\.zelus\.address: .* outside lanCidr/);
        assert.match(lines[1], /at most one enabled machine may have the database role/);
        assert.match(lines[2], /models\[0\]\.nodes\[0\]: llama3\.3:70b needs 43 GB/);
    });

    test("a receiver's secret never appears in the error, even when it is the value at fault", async () => {
        const legacy = await runProgram({ ...homelab, monitoring: { alertWebhookUrl: "https://discord.com/api/webhooks/1/discord-secret-token" } }, { secretKeys: ["monitoring"] });
        assert.ok(legacy.error);
        assert.match(legacy.error.message, /alertWebhookUrl: is a Discord webhook URL/);
        assert.doesNotMatch(legacy.error.message, /discord-secret-token/);
        const token = await runProgram({ ...homelab, monitoring: { alerts: [{ type: "telegram", botToken: "not-a-token-secret", chatId: 1 }] } }, { secretKeys: ["monitoring"] });
        assert.ok(token.error);
        assert.match(token.error.message, /alerts\[0\]\.botToken: must be a bot token/);
        assert.doesNotMatch(token.error.message, /not-a-token-secret/);
    });

    test("a secret value in a broken config never appears in the error", async () => {
        const run = await runProgram({ ...homelab, lanCidr: "nope", fallback: { model: "openai/gpt-4o-mini", apiKey: "sk-very-secret-value" } }, { secretKeys: ["fallback"] });
        assert.ok(run.error);
        assert.doesNotMatch(run.error.message, /sk-very-secret-value/);
    });
});
