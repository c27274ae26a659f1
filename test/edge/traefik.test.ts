import * as assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parse } from "yaml";
import { buildCatalog, Catalog } from "../../components/catalog/catalog";
import { adminAuthMiddleware, dashboardRootMiddleware, edgeRoutes, renderAuth, renderRoutes, traefikStaticArgs } from "../../components/edge/traefik";
import { validatePlatform } from "../../config/platform";
import { place } from "../../machines/placement";
import { readStackConfig } from "../harness/program";

function homelabCatalog(): Catalog {
    const result = validatePlatform(readStackConfig("Pulumi.homelab.yaml"));
    assert.ok(result.ok);
    return buildCatalog(place(result.config), result.config.domain);
}

type Dynamic = {
    http: {
        routers: Record<string, { rule: string; entryPoints: string[]; service: string; middlewares?: string[] }>;
        services: Record<string, { loadBalancer: { servers: { url: string }[]; healthCheck?: { path: string } } }>;
        middlewares?: Record<string, { redirectRegex: { regex: string; replacement: string } }>;
    };
};

const staticOptions = {
    address: "192.168.10.12",
    ports: { web: 80, websecure: 443, metrics: 8082 },
    lanEntrypoints: { tools: 8001 },
    domain: "lab.internal",
    acmeResolvers: ["1.1.1.1", "9.9.9.9"],
};

describe("Traefik static configuration", () => {
    const args = traefikStaticArgs(staticOptions);

    test("redirects HTTP to the HTTPS entrypoint, which serves TLS, both bound to the LAN address", () => {
        assert.ok(args.includes("--entrypoints.web.address=192.168.10.12:80"));
        assert.ok(args.includes("--entrypoints.web.http.redirections.entrypoint.to=websecure"));
        assert.ok(args.includes("--entrypoints.web.http.redirections.entrypoint.scheme=https"));
        assert.ok(args.includes("--entrypoints.websecure.address=192.168.10.12:443"));
        assert.ok(args.includes("--entrypoints.websecure.http.tls=true"));
    });

    test("opens each LAN entrypoint as plain HTTP on the LAN address only", () => {
        assert.ok(args.includes("--entrypoints.tools.address=192.168.10.12:8001"));
        assert.deepEqual(args.filter((arg) => arg.startsWith("--entrypoints.tools.")), ["--entrypoints.tools.address=192.168.10.12:8001"]);
    });

    test("answers /ping and serves Prometheus metrics on the metrics entrypoint, reads routes from the file provider", () => {
        for (const flag of [
            "--ping=true",
            "--ping.entrypoint=metrics",
            "--entrypoints.metrics.address=192.168.10.12:8082",
            "--metrics.prometheus=true",
            "--metrics.prometheus.entrypoint=metrics",
            "--providers.file.directory=/etc/traefik/dynamic",
        ]) {
            assert.ok(args.includes(flag), flag);
        }
    });

    test("uses the default certificate without ACME: no resolver at all", () => {
        assert.deepEqual(args.filter((arg) => arg.includes("certresolver") || arg.includes("acme")), []);
    });

    test("with ACME, asks one wildcard certificate by DNS-01 from the configured provider, checked through public resolvers", () => {
        const acme = traefikStaticArgs({ ...staticOptions, acme: { email: "ops@example.org", dnsProvider: "cloudflare", caServer: "https://acme-staging-v02.api.letsencrypt.org/directory" } });
        for (const flag of [
            "--entrypoints.websecure.http.tls.certresolver=acme",
            "--entrypoints.websecure.http.tls.domains[0].main=lab.internal",
            "--entrypoints.websecure.http.tls.domains[0].sans=*.lab.internal",
            "--certificatesresolvers.acme.acme.email=ops@example.org",
            "--certificatesresolvers.acme.acme.storage=/var/lib/traefik/acme.json",
            "--certificatesresolvers.acme.acme.caserver=https://acme-staging-v02.api.letsencrypt.org/directory",
            "--certificatesresolvers.acme.acme.dnschallenge.provider=cloudflare",
            "--certificatesresolvers.acme.acme.dnschallenge.resolvers=1.1.1.1:53,9.9.9.9:53",
        ]) {
            assert.ok(acme.includes(flag), flag);
        }
    });
});

describe("Traefik routes from the catalog", () => {
    const catalog = homelabCatalog();
    const dynamic = parse(renderRoutes(edgeRoutes(catalog))) as Dynamic;

    test("route every routed service by its host name on the HTTPS entrypoint, to the machine that runs it", () => {
        const routed = catalog.entries.filter((entry) => entry.route !== undefined);
        const hostRouters = Object.keys(dynamic.http.routers).filter((name) => dynamic.http.routers[name].rule.startsWith("Host("));
        assert.deepEqual(hostRouters.sort(), [...new Set(routed.map((entry) => entry.service))].sort());
        for (const entry of routed) {
            const router = dynamic.http.routers[entry.service];
            assert.ok(router.rule.startsWith(`Host(\`${entry.route?.host}\`)`), router.rule);
            assert.deepEqual(router.entryPoints, ["websecure"]);
            if (entry.service === "traefik") continue;
            const urls = dynamic.http.services[router.service].loadBalancer.servers.map((server) => server.url);
            assert.ok(urls.includes(`http://${entry.address}:${entry.port}`), `${entry.instance} -> ${urls.join(", ")}`);
        }
    });

    test("puts the admin UIs, and only them, behind basic auth (Uptime Kuma too: its first visitor becomes its admin)", () => {
        for (const [name, router] of Object.entries(dynamic.http.routers)) {
            const admin = ["traefik", "prometheus", "alertmanager", "uptime-kuma"].includes(name);
            assert.equal((router.middlewares ?? []).includes(adminAuthMiddleware), admin, name);
        }
    });

    test("load-balances the tool servers over every replica, with health checks", () => {
        const mcpo = dynamic.http.services.mcpo.loadBalancer;
        assert.deepEqual(mcpo.servers.map((s) => s.url), ["http://192.168.10.13:8000", "http://192.168.10.14:8000"]);
        assert.equal(mcpo.healthCheck?.path, "/docs");
    });

    test("keeps metrics off the HTTPS routes: Prometheus scrapes them on the LAN", () => {
        assert.equal(dynamic.http.routers.litellm.rule, "Host(`llm.lab.internal`) && !PathPrefix(`/metrics`)");
        assert.equal(dynamic.http.routers.grafana.rule, "Host(`grafana.lab.internal`) && !PathPrefix(`/metrics`)");
        assert.equal(dynamic.http.routers["open-webui"].rule, "Host(`chat.lab.internal`)", "a service without metrics keeps every path");
    });

    test("also serves the tool servers on the LAN entrypoint, whatever the host name, for Open WebUI", () => {
        assert.deepEqual(dynamic.http.routers["mcpo-lan"], { rule: "PathPrefix(`/`)", entryPoints: ["tools"], service: "mcpo" });
        assert.deepEqual(
            Object.values(dynamic.http.routers).filter((router) => !router.entryPoints.includes("websecure")).map((router) => router.service),
            ["mcpo"],
            "no other service is reachable without TLS",
        );
    });

    test("serves the Traefik dashboard from the API, with no backend of its own", () => {
        assert.equal(dynamic.http.routers.traefik.service, "api@internal");
        assert.equal(dynamic.http.services.traefik, undefined);
    });

    test("sends the dashboard's bare host name to /dashboard/, after basic auth (the API answers 404 on /)", () => {
        assert.deepEqual(dynamic.http.routers.traefik.middlewares, [adminAuthMiddleware, dashboardRootMiddleware]);
        const { regex, replacement } = dynamic.http.middlewares?.[dashboardRootMiddleware].redirectRegex ?? { regex: "", replacement: "" };
        const redirect = (url: string) => url.replace(new RegExp(regex), replacement.replace("${1}", "$1"));
        assert.equal(redirect("https://traefik.lab.internal/"), "https://traefik.lab.internal/dashboard/");
        assert.equal(redirect("https://traefik.lab.internal"), "https://traefik.lab.internal/dashboard/");
        assert.equal(redirect("https://traefik.lab.internal/api/overview"), "https://traefik.lab.internal/api/overview");
    });

    test("holds no credential", () => {
        assert.doesNotMatch(renderRoutes(edgeRoutes(catalog)), /basicAuth|\$2[aby]\$/);
    });
});

describe("the basic-auth middleware", () => {
    test("lists the admin user with its bcrypt hash", () => {
        const hash = `$2a$10$${"x".repeat(53)}`;
        const auth = parse(renderAuth("admin", hash)) as { http: { middlewares: Record<string, { basicAuth: { users: string[] } }> } };
        assert.deepEqual(auth.http.middlewares[adminAuthMiddleware].basicAuth.users, [`admin:${hash}`]);
    });
});
