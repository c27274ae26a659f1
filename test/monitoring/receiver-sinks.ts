import * as http from "node:http";
import * as net from "node:net";
import { AddressInfo } from "node:net";

/**
 * Loopback servers that play the services Alertmanager notifies. Each records what it received
 * and answers like the real service: a request the service would reject (wrong shape) gets the
 * service's error status, and the recorded entry carries the reason, so a test reads back what
 * real Alertmanager sent and whether the service would have taken it.
 */

export interface Delivery {
    /** slack, discord, telegram, ntfy, webhook */
    readonly service: string;
    /** The request path and query, as received. */
    readonly path: string;
    readonly headers: http.IncomingHttpHeaders;
    readonly body: string;
    /** The human-readable text the service would show (message, title, embed...). */
    readonly text: string;
    /** Why the real service would refuse it; empty when it would accept it. */
    readonly problems: readonly string[];
}

export interface HttpSinks {
    readonly url: string;
    readonly deliveries: Delivery[];
    close(): Promise<void>;
}

function json(body: string): Record<string, unknown> | undefined {
    try {
        const value: unknown = JSON.parse(body);
        return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
    } catch {
        return undefined;
    }
}

const str = (value: unknown): string => (typeof value === "string" ? value : "");
const records = (value: unknown): Record<string, unknown>[] => (Array.isArray(value) ? value.filter((v): v is Record<string, unknown> => v !== null && typeof v === "object") : []);

/** Slack incoming webhooks: JSON with `text`, or `blocks`, or `attachments` that carry text (api.slack.com/messaging/webhooks). */
function slack(body: string): { text: string; problems: string[] } {
    const doc = json(body);
    if (doc === undefined) return { text: "", problems: ["invalid_payload: not a JSON object"] };
    const attachments = records(doc.attachments);
    const text = [str(doc.text), ...attachments.flatMap((a) => [str(a.title), str(a.text), str(a.fallback)])].filter((t) => t !== "").join("\n");
    const problems = str(doc.text) === "" && records(doc.blocks).length === 0 && !attachments.some((a) => str(a.text) !== "" || str(a.fallback) !== "") ? ["no_text: neither text, blocks nor attachments with text"] : [];
    return { text, problems };
}

/** Discord webhooks: `content` (<= 2000) or `embeds` (<= 10, title <= 256, description <= 4096) (discord.com/developers/docs/resources/webhook). */
function discord(body: string): { text: string; problems: string[] } {
    const doc = json(body);
    if (doc === undefined) return { text: "", problems: ["50109: the request body contains invalid JSON"] };
    const embeds = records(doc.embeds);
    const problems: string[] = [];
    if (str(doc.content) === "" && !embeds.some((e) => str(e.title) !== "" || str(e.description) !== "")) problems.push("50006: cannot send an empty message");
    if (str(doc.content).length > 2000) problems.push("content longer than 2000");
    if (embeds.length > 10) problems.push("more than 10 embeds");
    for (const e of embeds) if (str(e.title).length > 256 || str(e.description).length > 4096) problems.push("embed title or description too long");
    return { text: [str(doc.content), ...embeds.flatMap((e) => [str(e.title), str(e.description)])].filter((t) => t !== "").join("\n"), problems };
}

/** Telegram Bot API sendMessage: `chat_id` and `text` (1-4096 characters), JSON or form (core.telegram.org/bots/api#sendmessage). */
function telegram(path: string, body: string, contentType: string): { text: string; problems: string[]; chatId: string } {
    const fields: Record<string, unknown> = contentType.includes("json") ? (json(body) ?? {}) : Object.fromEntries(new URLSearchParams(body));
    const text = str(fields.text);
    const problems: string[] = [];
    if (!/^\/bot\d+:[\w-]+\/sendMessage$/.test(path.split("?")[0])) problems.push(`404: not a sendMessage path: ${path}`);
    const chatId = String(fields.chat_id ?? "");
    if (chatId === "") problems.push("400: chat_id is empty");
    if (text.length === 0 || text.length > 4096) problems.push("400: message text is empty or too long");
    const parseMode = str(fields.parse_mode);
    if (!["", "HTML", "Markdown", "MarkdownV2"].includes(parseMode)) problems.push(`400: unsupported parse_mode ${parseMode}`);
    return { text, problems, chatId };
}

/**
 * ntfy with `?template=alertmanager` (ntfy's server/templates/alertmanager.yml): the body is
 * Alertmanager's JSON, the title reads `.status` (firing or resolved, else the template fails)
 * and the first alert's `labels.alertname`, the message every alert's labels and annotations.
 */
function ntfy(path: string, body: string): { text: string; problems: string[] } {
    const url = new URL(path, "http://sink");
    const problems: string[] = [];
    const doc = json(body);
    const template = url.searchParams.get("template") ?? url.searchParams.get("tpl");
    if (template !== "alertmanager") return { text: body, problems: ["without ?template=alertmanager ntfy shows the raw JSON as the message"] };
    const priority = url.searchParams.get("priority") ?? url.searchParams.get("p") ?? "default";
    if (!["min", "low", "default", "high", "urgent", "1", "2", "3", "4", "5"].includes(priority)) problems.push(`400: invalid priority ${priority}`);
    if (doc === undefined) return { text: "", problems: [...problems, "400: template: body is not JSON"] };
    const status = str(doc.status);
    const alerts = records(doc.alerts);
    if (!["firing", "resolved"].includes(status)) problems.push("400: template: Unsupported Alertmanager status.");
    if (alerts.length === 0) problems.push("400: template: no alerts");
    const labels = (alert: Record<string, unknown>) => (alert.labels ?? {}) as Record<string, string>;
    const annotations = (alert: Record<string, unknown>) => (alert.annotations ?? {}) as Record<string, string>;
    const title = alerts.length === 0 ? "" : `${status === "firing" ? "Alert" : "Resolved"}: ${labels(alerts[0]).alertname ?? ""}`;
    const message = alerts.map((a) => `Alert: ${labels(a).alertname ?? ""} Severity: ${labels(a).severity ?? ""} Summary: ${annotations(a).summary ?? ""}`).join("\n");
    return { text: `${title}\n${message}`, problems };
}

/** A plain Alertmanager webhook receiver: version 4 JSON (prometheus.io/docs/alerting/latest/configuration/#webhook_config). */
function webhook(body: string): { text: string; problems: string[] } {
    const doc = json(body);
    if (doc === undefined || doc.version !== "4" || records(doc.alerts).length === 0) return { text: body, problems: ["not Alertmanager's webhook JSON (version 4, alerts)"] };
    return { text: records(doc.alerts).map((a) => JSON.stringify(a.labels)).join("\n"), problems: [] };
}

/** What each service answers to an accepted request. */
function reply(service: string, chatId: string, text: string): { status: number; type: string; body: string } {
    switch (service) {
        case "slack":
            return { status: 200, type: "text/plain", body: "ok" };
        case "discord":
            return { status: 204, type: "text/plain", body: "" };
        case "telegram":
            return {
                status: 200,
                type: "application/json",
                body: JSON.stringify({ ok: true, result: { message_id: 1, date: Math.floor(Date.now() / 1000), chat: { id: Number(chatId), type: "private" }, text } }),
            };
        case "ntfy":
            return { status: 200, type: "application/json", body: JSON.stringify({ id: "sink", time: Math.floor(Date.now() / 1000), event: "message", topic: "sink" }) };
        default:
            return { status: 200, type: "text/plain", body: "" };
    }
}

/**
 * One HTTP server for the HTTP services, by the first path segment: `/slack/...`,
 * `/discord/...`, `/telegram` (the Bot API base: `/telegram/bot<token>/sendMessage`),
 * `/ntfy/<topic>`, `/webhook/...`.
 */
export async function startHttpSinks(): Promise<HttpSinks> {
    const deliveries: Delivery[] = [];
    const server = http.createServer((request, response) => {
        const chunks: Buffer[] = [];
        request.on("data", (chunk: Buffer) => chunks.push(chunk));
        request.on("end", () => {
            const body = Buffer.concat(chunks).toString("utf8");
            const full = request.url ?? "/";
            const service = full.split("/")[1]?.split("?")[0] ?? "";
            const rest = full.slice(service.length + 1);
            const contentType = String(request.headers["content-type"] ?? "");
            if (service === "telegram" && /^\/bot[^/]+\/getMe$/.test(rest)) {
                // A Bot API client may ask who it is before sending; not a delivery.
                response.writeHead(200, { "content-type": "application/json" });
                response.end(JSON.stringify({ ok: true, result: { id: 1, is_bot: true, first_name: "sink", username: "sink_bot" } }));
                return;
            }
            let result: { text: string; problems: string[]; chatId?: string };
            switch (service) {
                case "slack":
                    result = slack(body);
                    break;
                case "discord":
                    result = discord(body);
                    break;
                case "telegram":
                    result = telegram(rest, body, contentType);
                    break;
                case "ntfy":
                    result = ntfy(rest, body);
                    break;
                case "webhook":
                    result = webhook(body);
                    break;
                default:
                    result = { text: "", problems: [`no such service ${service}`] };
            }
            if (request.method !== "POST") result.problems.push(`405: ${request.method ?? ""}`);
            deliveries.push({ service, path: rest, headers: request.headers, body, text: result.text, problems: result.problems });
            const answer = result.problems.length > 0 ? { status: 400, type: "text/plain", body: result.problems.join("; ") } : reply(service, result.chatId ?? "0", result.text);
            response.writeHead(answer.status, { "content-type": answer.type });
            response.end(answer.body);
        });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    return {
        url: `http://127.0.0.1:${port}`,
        deliveries,
        close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    };
}

export interface Mail {
    readonly from: string;
    readonly to: readonly string[];
    /** The login name and password the client authenticated with (PLAIN or LOGIN), if it did. */
    readonly auth?: { readonly username: string; readonly password: string };
    /** Headers and body as sent after DATA, dot-unstuffed. */
    readonly data: string;
}

export interface SmtpSink {
    readonly host: string;
    readonly port: number;
    readonly mails: Mail[];
    close(): Promise<void>;
}

/**
 * A minimal SMTP server (RFC 5321) on loopback: EHLO offering AUTH PLAIN and LOGIN (no
 * STARTTLS), MAIL, RCPT, DATA, RSET, NOOP, QUIT. Enough for Go's net/smtp client, which
 * Alertmanager's email notifier uses.
 */
export async function startSmtpSink(): Promise<SmtpSink> {
    const mails: Mail[] = [];
    const sockets = new Set<net.Socket>();
    const server = net.createServer((socket) => {
        sockets.add(socket);
        socket.on("close", () => sockets.delete(socket));
        socket.setEncoding("utf8");
        const send = (line: string) => socket.write(`${line}\r\n`);
        let buffer = "";
        let from = "";
        let to: string[] = [];
        let auth: Mail["auth"];
        let mode: "command" | "data" | "login-user" | "login-pass" = "command";
        let loginUser = "";
        let data: string[] = [];
        const decode = (b64: string) => Buffer.from(b64, "base64").toString("utf8");
        const plain = (b64: string) => {
            const [, username, password] = decode(b64).split("\u0000");
            auth = { username: username ?? "", password: password ?? "" };
            send("235 2.7.0 Authentication successful");
        };
        const handle = (line: string) => {
            if (mode === "data") {
                if (line === ".") {
                    mails.push({ from, to, auth, data: data.join("\r\n") });
                    data = [];
                    mode = "command";
                    send("250 2.0.0 queued");
                } else data.push(line.startsWith(".") ? line.slice(1) : line);
                return;
            }
            if (mode === "login-user") {
                loginUser = decode(line);
                mode = "login-pass";
                send(`334 ${Buffer.from("Password:").toString("base64")}`);
                return;
            }
            if (mode === "login-pass") {
                auth = { username: loginUser, password: decode(line) };
                mode = "command";
                send("235 2.7.0 Authentication successful");
                return;
            }
            const [verb = "", ...args] = line.split(" ");
            switch (verb.toUpperCase()) {
                case "EHLO":
                    socket.write("250-sink.localhost\r\n250-8BITMIME\r\n250-AUTH PLAIN LOGIN\r\n250 SMTPUTF8\r\n");
                    return;
                case "HELO":
                    send("250 sink.localhost");
                    return;
                case "AUTH": {
                    const mechanism = (args[0] ?? "").toUpperCase();
                    if (mechanism === "PLAIN" && args[1] !== undefined) plain(args[1]);
                    else if (mechanism === "LOGIN") {
                        mode = "login-user";
                        send(`334 ${Buffer.from("Username:").toString("base64")}`);
                    } else send("504 5.5.4 unrecognized authentication type");
                    return;
                }
                case "MAIL":
                    from = line.replace(/^MAIL FROM:\s*/i, "").replace(/[<>]/g, "").split(" ")[0];
                    to = [];
                    send("250 2.1.0 Ok");
                    return;
                case "RCPT":
                    to.push(line.replace(/^RCPT TO:\s*/i, "").replace(/[<>]/g, "").split(" ")[0]);
                    send("250 2.1.5 Ok");
                    return;
                case "DATA":
                    if (to.length === 0) {
                        send("554 5.5.1 no valid recipients");
                        return;
                    }
                    mode = "data";
                    send("354 End data with <CR><LF>.<CR><LF>");
                    return;
                case "RSET":
                    from = "";
                    to = [];
                    send("250 2.0.0 Ok");
                    return;
                case "NOOP":
                    send("250 2.0.0 Ok");
                    return;
                case "QUIT":
                    send("221 2.0.0 Bye");
                    socket.end();
                    return;
                default:
                    send("502 5.5.2 command not recognized");
            }
        };
        socket.on("data", (chunk: string) => {
            buffer += chunk;
            let index = buffer.indexOf("\r\n");
            while (index >= 0) {
                const line = buffer.slice(0, index);
                buffer = buffer.slice(index + 2);
                handle(line);
                index = buffer.indexOf("\r\n");
            }
        });
        socket.on("error", () => socket.destroy());
        send("220 sink.localhost ESMTP");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    return {
        host: "127.0.0.1",
        port,
        mails,
        close: () =>
            new Promise<void>((resolve) => {
                for (const socket of sockets) socket.destroy();
                server.close(() => resolve());
            }),
    };
}
