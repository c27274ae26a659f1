import { ChildProcess, execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { passwordRoles, superuser } from "../../components/postgres/roles";

/** Debian's server binaries (apt-get install postgresql: the newest major installed); PG_BIN overrides. */
export const pgBin = process.env.PG_BIN ?? newestDebianBin();

function newestDebianBin(): string {
    const root = "/usr/lib/postgresql";
    const majors = fs.existsSync(root) ? fs.readdirSync(root).filter((d) => /^\d+$/.test(d) && fs.existsSync(path.join(root, d, "bin", "initdb"))) : [];
    if (majors.length === 0) throw new Error(`no PostgreSQL server under ${root}: apt-get install postgresql, or set PG_BIN`);
    return path.join(root, String(Math.max(...majors.map(Number))), "bin");
}

/** initdb refuses root: when the tests run as root (CI), servers and scripts run as `postgres`. */
const asPostgres: { uid?: number; gid?: number } =
    process.getuid?.() === 0
        ? { uid: Number(execFileSync("id", ["-u", "postgres"]).toString()), gid: Number(execFileSync("id", ["-g", "postgres"]).toString()) }
        : {};

export interface RunResult {
    readonly code: number;
    readonly stdout: string;
    readonly stderr: string;
}

export interface RunOptions {
    readonly env?: Record<string, string>;
    readonly input?: string;
    /** Run as the postgres OS user (when root). */
    readonly asPostgres?: boolean;
    /** Working directory (default: this process's). */
    readonly cwd?: string;
}

/** Runs a command to completion; never throws on a non-zero exit (callers assert on it). */
export function run(command: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
    return new Promise((resolve, reject) => {
        const child = spawn(command, args, {
            env: { PATH: `${pgBin}:/usr/sbin:/usr/bin:/sbin:/bin`, LANG: "C.UTF-8", ...options.env },
            stdio: [options.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
            cwd: options.cwd,
            ...(options.asPostgres ? asPostgres : {}),
        });
        let stdout = "";
        let stderr = "";
        child.stdout?.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
        child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
        child.on("error", reject);
        child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
        child.stdin?.end(options.input);
    });
}

export async function runOk(command: string, args: readonly string[], options: RunOptions = {}): Promise<string> {
    const result = await run(command, args, options);
    if (result.code !== 0) throw new Error(`${path.basename(command)} exited ${result.code}: ${result.stderr || result.stdout}`);
    return result.stdout;
}

async function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const server = net.createServer();
        server.on("error", reject);
        server.listen(0, "127.0.0.1", () => {
            const address = server.address() as net.AddressInfo;
            server.close(() => resolve(address.port));
        });
    });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls until `check` returns true, or fails with `what` after the timeout. */
export async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
        if (await check()) return;
        await sleep(100);
    }
    throw new Error(`timed out waiting for ${what}`);
}

/** A temporary directory owned by the postgres user, with random passwords in files, removed by `cleanup`. */
export class Sandbox {
    public readonly root: string;
    public readonly secretsDir: string;
    /** role -> password: the superuser, the replication and exporter roles, each app owner. */
    public readonly passwords: Readonly<Record<string, string>>;
    private readonly servers: Server[] = [];

    private constructor(root: string) {
        this.root = root;
        this.secretsDir = path.join(root, "secrets");
        fs.mkdirSync(this.secretsDir);
        this.passwords = Object.fromEntries([superuser, ...passwordRoles].map((role) => [role, randomBytes(16).toString("hex")]));
        for (const [role, password] of Object.entries(this.passwords)) fs.writeFileSync(path.join(this.secretsDir, role), password, { mode: 0o600 });
        this.chownAll();
    }

    public static create(): Sandbox {
        return new Sandbox(fs.mkdtempSync(path.join(os.tmpdir(), "ai-platform-pg-")));
    }

    /** Hands everything under the root to the postgres user (files the test wrote as root). */
    public chownAll(): void {
        if (asPostgres.uid === undefined) return;
        const { uid, gid } = asPostgres as { uid: number; gid: number };
        const walk = (p: string) => {
            fs.chownSync(p, uid, gid);
            if (fs.statSync(p).isDirectory()) for (const entry of fs.readdirSync(p)) walk(path.join(p, entry));
        };
        walk(this.root);
    }

    public writeFile(relative: string, content: string, mode = 0o644): string {
        const file = path.join(this.root, relative);
        fs.mkdirSync(path.dirname(file), { recursive: true });
        fs.writeFileSync(file, content, { mode });
        this.chownAll();
        return file;
    }

    public async server(name: string): Promise<Server> {
        const server = new Server(path.join(this.root, name), await freePort(), this.root);
        this.servers.push(server);
        return server;
    }

    /** Stops every server it handed out (even half-started ones) and removes the directory. */
    public async cleanup(): Promise<void> {
        for (const server of this.servers) await server.stop();
        fs.rmSync(this.root, { recursive: true, force: true });
    }
}

/** One PostgreSQL server in the sandbox: data in `pgdata`, TCP on 127.0.0.1:`port`, socket in `socketDir`. */
export class Server {
    public readonly logFile: string;
    private process?: ChildProcess;

    constructor(
        public readonly pgdata: string,
        public readonly port: number,
        public readonly socketDir: string,
    ) {
        this.logFile = `${pgdata}.log`;
    }

    /** Settings that point a server rendered for a container at this sandbox (they come last, so they win). */
    public overrides(listen = "127.0.0.1"): string[] {
        return ["-c", `listen_addresses=${listen}`, "-c", `port=${this.port}`, "-c", `unix_socket_directories=${this.socketDir}`];
    }

    /** Starts `command args` as postgres (a server, or a wrapper that execs one) and waits until it accepts connections. */
    public async start(command: string, args: readonly string[], env: Record<string, string> = {}, viaSocket = false): Promise<void> {
        const log = fs.openSync(this.logFile, "a");
        const child = spawn(command, args, {
            env: { PATH: `${pgBin}:/usr/bin:/bin`, LANG: "C.UTF-8", PGDATA: this.pgdata, ...env },
            stdio: ["ignore", log, log],
            ...asPostgres,
        });
        fs.closeSync(log);
        this.process = child;
        let exited = false;
        child.on("exit", () => (exited = true));
        const host = viaSocket ? this.socketDir : "127.0.0.1";
        await waitFor(`${path.basename(this.pgdata)} to accept connections (log: ${this.logFile})`, async () => {
            if (exited) throw new Error(`${path.basename(this.pgdata)} exited while starting:\n${fs.readFileSync(this.logFile, "utf8")}`);
            return (await run("pg_isready", ["-q", "-h", host, "-p", String(this.port)])).code === 0;
        }, 60_000);
    }

    /** A fast shutdown; a no-op when the server is not running. */
    public async stop(): Promise<void> {
        if (this.process === undefined) return;
        const child = this.process;
        this.process = undefined;
        if (child.exitCode === null && child.signalCode === null) {
            const exited = new Promise((resolve) => child.once("exit", resolve));
            await run("pg_ctl", ["-D", this.pgdata, "-m", "fast", "-w", "stop"], { asPostgres: true });
            child.kill("SIGTERM");
            await exited;
        }
    }

    /** Runs SQL over TCP as `user` with its password; the result without headers or alignment. */
    public sql(sql: string, user: string, password: string, database = "postgres"): Promise<RunResult> {
        return run("psql", ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-tA", "-h", "127.0.0.1", "-p", String(this.port), "-U", user, "-d", database, "-c", sql], {
            env: { PGPASSWORD: password, PGCONNECT_TIMEOUT: "5" },
        });
    }
}

/** The rendered files of /docker-entrypoint-initdb.d, by file name. */
export type InitFiles = Readonly<Record<string, string>>;

/** docker_process_init_files of the official image: sources non-executable *.sh, runs *.sql with psql. */
const processInitFiles = `set -Eeo pipefail
for f; do
	case "$f" in
		*.sh) if [ -x "$f" ]; then "$f"; else . "$f"; fi ;;
		*.sql) psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --no-password --no-psqlrc --dbname "$POSTGRES_DB" -f "$f" ;;
		*) echo "ignoring $f" ;;
	esac
done`;

/**
 * Initialises `server`'s data directory the way the official image's entrypoint does on an empty
 * volume: initdb with the superuser's password, `host all all all` appended to pg_hba.conf, a
 * socket-only temporary server started with the container's settings, the init files run in
 * name order with POSTGRES_USER/POSTGRES_DB/PGDATA/PGPASSWORD set, then the temporary server stopped.
 */
export async function initLikeTheImage(box: Sandbox, server: Server, settingsArgs: readonly string[], files: InitFiles): Promise<void> {
    await runOk("initdb", ["-D", server.pgdata, `--username=${superuser}`, `--pwfile=${path.join(box.secretsDir, superuser)}`], { asPostgres: true });
    fs.appendFileSync(path.join(server.pgdata, "pg_hba.conf"), "\nhost all all all scram-sha-256\n");

    await server.start("postgres", [...settingsArgs, ...server.overrides(""), "-p", String(server.port)], {}, true);
    const paths = Object.entries(files)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([name, content]) => box.writeFile(path.join("initdb.d", name), content));
    const result = await run("bash", ["-c", processInitFiles, "docker-entrypoint.sh", ...paths], {
        asPostgres: true,
        env: {
            POSTGRES_USER: superuser,
            POSTGRES_DB: "postgres",
            PGDATA: server.pgdata,
            PGPASSWORD: box.passwords[superuser],
            PGHOST: server.socketDir,
            PGPORT: String(server.port),
            POSTGRES_SECRETS_DIR: box.secretsDir,
        },
    });
    await server.stop();
    if (result.code !== 0) throw new Error(`init scripts failed (${result.code}): ${result.stderr}`);
}
