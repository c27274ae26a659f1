import * as http from "node:http";
import type { AddressInfo, Socket } from "node:net";

/**
 * Simulated Ollama nodes and an OpenAI-compatible external API, on 127.0.0.1 only, for the
 * gateway tests: they speak the part of each API that LiteLLM calls, record every request,
 * and can be told to misbehave.
 */

/** How a simulated server answers: normally, by refusing connections, with HTTP 500, or never. */
export type SimMode = "ok" | "refuse" | "error" | "hang";

/** One request a simulated server received. */
export interface RecordedRequest {
    /** The simulated node (or external API) that received it. */
    readonly node: string;
    readonly method: string;
    readonly path: string;
    readonly model?: string;
    /** Ollama's per-request `options` (num_ctx and friends), as sent. */
    readonly options?: Record<string, unknown>;
    readonly stream?: boolean;
    readonly authorization?: string;
    /** How the server answered it. */
    readonly answeredWith: SimMode;
    /** Milliseconds since the epoch when the request arrived. */
    readonly at: number;
}

/** What every simulated server shares: a loopback listener that records requests and obeys a mode. */
abstract class SimServer {
    readonly requests: RecordedRequest[] = [];
    private server: http.Server;
    private readonly sockets = new Set<Socket>();
    private modes = new Map<string, SimMode>();
    private boundPort = 0;
    /** Milliseconds a normal answer takes (lets concurrent requests overlap). */
    delayMs = 0;

    constructor(readonly name: string) {
        this.server = this.createServer();
    }

    private createServer(): http.Server {
        const server = http.createServer((req, res) => void this.handle(req, res));
        server.on("connection", (socket) => {
            this.sockets.add(socket);
            socket.on("close", () => this.sockets.delete(socket));
        });
        return server;
    }

    get port(): number {
        return this.boundPort;
    }

    get url(): string {
        return `http://127.0.0.1:${this.boundPort}`;
    }

    /** Listens on 127.0.0.1 (a fresh port the first time, the same port after a refusal ends). */
    async start(): Promise<void> {
        for (let attempt = 0; ; attempt++) {
            try {
                await new Promise<void>((resolve, reject) => {
                    this.server.once("error", reject);
                    this.server.listen(this.boundPort, "127.0.0.1", () => resolve());
                });
                break;
            } catch (error) {
                // Coming back on its old port: wait for the closed listener's port to be free again.
                if (this.boundPort === 0 || attempt >= 50 || (error as NodeJS.ErrnoException).code !== "EADDRINUSE") throw error;
                this.server = this.createServer();
                await new Promise((resolve) => setTimeout(resolve, 100));
            }
        }
        this.boundPort = (this.server.address() as AddressInfo).port;
    }

    /** Stops listening and drops every open connection (a stopped node: connections are refused). */
    async stop(): Promise<void> {
        for (const socket of this.sockets) socket.destroy();
        if (!this.server.listening) return;
        await new Promise<void>((resolve) => this.server.close(() => resolve()));
        this.server = this.createServer();
    }

    /** How this server answers from now on, for one model or (without one) for every model. */
    async setMode(mode: SimMode, model?: string): Promise<void> {
        if (model === undefined) this.modes = new Map([["*", mode]]);
        else this.modes.set(model, mode);
        const refusing = this.modes.get("*") === "refuse";
        if (refusing && this.server.listening) await this.stop();
        if (!refusing && !this.server.listening && this.boundPort !== 0) await this.start();
    }

    modeFor(model: string | undefined): SimMode {
        return (model === undefined ? undefined : this.modes.get(model)) ?? this.modes.get("*") ?? "ok";
    }

    /** The requests of one model to one path. */
    served(model: string, path?: string): RecordedRequest[] {
        return this.requests.filter((r) => r.model === model && (path === undefined || r.path === path));
    }

    private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
        const chunks: Buffer[] = [];
        for await (const chunk of req) chunks.push(chunk as Buffer);
        const text = Buffer.concat(chunks).toString("utf8");
        let body: Record<string, unknown> = {};
        try {
            body = text === "" ? {} : (JSON.parse(text) as Record<string, unknown>);
        } catch {
            body = {};
        }
        const path = (req.url ?? "/").split("?")[0];
        const model = typeof body.model === "string" ? body.model : undefined;
        const mode = this.modeFor(model);
        this.requests.push({
            node: this.name,
            method: req.method ?? "GET",
            path,
            model,
            options: typeof body.options === "object" && body.options !== null ? (body.options as Record<string, unknown>) : undefined,
            stream: typeof body.stream === "boolean" ? body.stream : undefined,
            authorization: req.headers.authorization,
            answeredWith: mode,
            at: Date.now(),
        });
        if (mode === "hang") return; // never answers; the socket is destroyed by stop()
        if (mode === "error" || mode === "refuse") {
            // "refuse" for one model only: the node is up, so answer like an Ollama that cannot load it.
            res.writeHead(500, { "Content-Type": "application/json" });
            res.end(JSON.stringify({ error: `simulated failure on ${this.name}` }));
            return;
        }
        if (this.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
        this.answer(req.method ?? "GET", path, body, res);
    }

    protected abstract answer(method: string, path: string, body: Record<string, unknown>, res: http.ServerResponse): void;

    protected json(res: http.ServerResponse, status: number, value: unknown): void {
        res.writeHead(status, { "Content-Type": "application/json" });
        res.end(JSON.stringify(value));
    }
}

/** A simulated Ollama: /api/chat (NDJSON stream or one JSON), /api/embed, /api/embeddings, /api/show, /api/tags, /api/version. */
export class OllamaSim extends SimServer {
    protected answer(method: string, path: string, body: Record<string, unknown>, res: http.ServerResponse): void {
        const model = typeof body.model === "string" ? body.model : "unknown";
        const createdAt = new Date().toISOString();
        const content = `served by ${this.name}`;
        if (method === "POST" && path === "/api/chat") {
            const final = { model, created_at: createdAt, message: { role: "assistant", content: "" }, done: true, done_reason: "stop", prompt_eval_count: 7, eval_count: 3 };
            if (body.stream === false) {
                this.json(res, 200, { ...final, message: { role: "assistant", content } });
                return;
            }
            res.writeHead(200, { "Content-Type": "application/x-ndjson" });
            for (const word of content.split(" ")) {
                res.write(`${JSON.stringify({ model, created_at: createdAt, message: { role: "assistant", content: `${word} ` }, done: false })}\n`);
            }
            res.end(`${JSON.stringify(final)}\n`);
            return;
        }
        if (method === "POST" && path === "/api/embed") {
            const input = Array.isArray(body.input) ? body.input : [body.input];
            this.json(res, 200, { model, embeddings: input.map(() => [0.1, 0.2, 0.3]), prompt_eval_count: 4 });
            return;
        }
        if (method === "POST" && path === "/api/embeddings") {
            this.json(res, 200, { embedding: [0.1, 0.2, 0.3] });
            return;
        }
        if (method === "POST" && path === "/api/show") {
            this.json(res, 200, { template: "{{ .Prompt }}", details: { family: "llama" }, model_info: { "general.architecture": "llama" }, capabilities: ["completion"] });
            return;
        }
        if (path === "/api/tags") {
            this.json(res, 200, { models: [] });
            return;
        }
        if (path === "/api/version") {
            this.json(res, 200, { version: "0.12.6" });
            return;
        }
        this.json(res, 404, { error: `${method} ${path} is not simulated` });
    }
}

/** A simulated OpenAI-compatible API (the external fallback): /v1/chat/completions, JSON or SSE. */
export class OpenAiSim extends SimServer {
    protected answer(method: string, path: string, body: Record<string, unknown>, res: http.ServerResponse): void {
        if (method !== "POST" || !path.endsWith("/chat/completions")) {
            this.json(res, 404, { error: { message: `${method} ${path} is not simulated` } });
            return;
        }
        const model = typeof body.model === "string" ? body.model : "unknown";
        const content = `served by ${this.name}`;
        const base = { id: "chatcmpl-sim", created: Math.floor(Date.now() / 1000), model };
        if (body.stream === true) {
            res.writeHead(200, { "Content-Type": "text/event-stream" });
            res.write(`data: ${JSON.stringify({ ...base, object: "chat.completion.chunk", choices: [{ index: 0, delta: { role: "assistant", content }, finish_reason: null }] })}\n\n`);
            res.write(`data: ${JSON.stringify({ ...base, object: "chat.completion.chunk", choices: [{ index: 0, delta: {}, finish_reason: "stop" }] })}\n\n`);
            res.end("data: [DONE]\n\n");
            return;
        }
        this.json(res, 200, {
            ...base,
            object: "chat.completion",
            choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: "stop" }],
            usage: { prompt_tokens: 7, completion_tokens: 3, total_tokens: 10 },
        });
    }
}
