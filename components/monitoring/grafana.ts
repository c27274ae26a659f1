import { stringify } from "yaml";

export const grafanaPaths = {
    datasources: "/etc/grafana/provisioning/datasources/platform.yml",
    dashboardProvider: "/etc/grafana/provisioning/dashboards/platform.yml",
    dashboards: "/etc/grafana/dashboards",
    adminPassword: "/run/secrets/grafana-admin-password",
    databasePassword: "/run/secrets/grafana-database-password",
    data: "/var/lib/grafana",
    entrypoint: "/usr/local/bin/ai-platform-grafana-entrypoint.sh",
} as const;

/** The image's own entrypoint, which the wrapper execs (grafana/grafana: ENTRYPOINT ["/run.sh"]). */
export const grafanaImageEntrypoint = "/run.sh";

/**
 * Grafana's entrypoint wrapper. Grafana reads GF_SECURITY_ADMIN_PASSWORD only when it creates the
 * admin user in an empty database, so a rotated password would never log in. Before every start
 * this sets the admin password from its file with `grafana cli admin reset-admin-password
 * --password-from-stdin` (Grafana 9.1+; the password never reaches a command line), then execs its
 * arguments (the image's /run.sh). The CLI reads the database settings from the environment; only
 * run.sh turns `GF_*__FILE` into values, so the wrapper does that for the two passwords the CLI
 * needs, in a subshell: run.sh refuses a variable set both ways. A failed reset is logged and
 * Grafana starts anyway: on an empty database Grafana itself creates the admin from the same file,
 * and with the database unreachable the server fails too (and Docker restarts it), so stopping
 * here would only risk a Grafana that never starts. POSIX sh: the image is Alpine-based (busybox
 * sh). Pure.
 */
export function renderGrafanaEntrypoint(): string {
    return `#!/bin/sh
# Rendered by ai-platform (components/monitoring/grafana.ts).
set -eu
: "\${GF_SECURITY_ADMIN_PASSWORD__FILE:?}" "\${GF_DATABASE_PASSWORD__FILE:?}"
admin_password_file=$GF_SECURITY_ADMIN_PASSWORD__FILE
(
	GF_DATABASE_PASSWORD=$(cat "$GF_DATABASE_PASSWORD__FILE")
	GF_SECURITY_ADMIN_PASSWORD=$(cat "$GF_SECURITY_ADMIN_PASSWORD__FILE")
	export GF_DATABASE_PASSWORD GF_SECURITY_ADMIN_PASSWORD
	unset GF_DATABASE_PASSWORD__FILE GF_SECURITY_ADMIN_PASSWORD__FILE
	grafana cli --homepath "\${GF_PATHS_HOME:-/usr/share/grafana}" --config "\${GF_PATHS_CONFIG:-/etc/grafana/grafana.ini}" \\
		admin reset-admin-password --password-from-stdin < "$admin_password_file"
) || echo "ai-platform: WARNING: could not set the Grafana admin password from $admin_password_file (see above); starting Grafana anyway" >&2
exec "$@"
`;
}

/** Stable datasource uids: the dashboards refer to them. */
export const datasourceUids = { prometheus: "prometheus", loki: "loki" } as const;

/** Prometheus (the default) and Loki, on the URLs Grafana reaches them at. */
export function renderDatasources(urls: { readonly prometheus: string; readonly loki: string }): string {
    return stringify({
        apiVersion: 1,
        datasources: [
            { name: "Prometheus", type: "prometheus", uid: datasourceUids.prometheus, access: "proxy", url: urls.prometheus, isDefault: true, editable: false },
            { name: "Loki", type: "loki", uid: datasourceUids.loki, access: "proxy", url: urls.loki, editable: false },
        ],
    });
}

/** A file provider that loads every dashboard JSON under the dashboards directory into a "Platform" folder. */
export function renderDashboardProvider(): string {
    return stringify({
        apiVersion: 1,
        providers: [
            {
                name: "platform",
                folder: "Platform",
                type: "file",
                disableDeletion: true,
                allowUiUpdates: false,
                updateIntervalSeconds: 60,
                options: { path: grafanaPaths.dashboards },
            },
        ],
    });
}
