import { stringify } from "yaml";

export const grafanaPaths = {
    datasources: "/etc/grafana/provisioning/datasources/platform.yml",
    dashboardProvider: "/etc/grafana/provisioning/dashboards/platform.yml",
    dashboards: "/etc/grafana/dashboards",
    adminPassword: "/run/secrets/grafana-admin-password",
    databasePassword: "/run/secrets/grafana-database-password",
    data: "/var/lib/grafana",
} as const;

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
