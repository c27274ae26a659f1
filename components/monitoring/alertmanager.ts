import { stringify } from "yaml";

export const alertmanagerPaths = { config: "/etc/alertmanager/alertmanager.yml", data: "/alertmanager" } as const;

/**
 * alertmanager.yml: every alert goes to the webhook when one is configured, else to a receiver
 * that drops it (alerts still show in the Alertmanager UI). The URL is a user secret, so the
 * rendered file is uploaded as a secret. Valid for Alertmanager 0.25 and 0.28.
 */
export function renderAlertmanagerConfig(webhookUrl: string | undefined): string {
    const receiver = webhookUrl === undefined ? "null" : "webhook";
    return stringify(
        {
            route: {
                receiver,
                group_by: ["alertname", "machine", "service"],
                group_wait: "30s",
                group_interval: "5m",
                repeat_interval: "4h",
            },
            inhibit_rules: [
                {
                    source_matchers: ["severity = critical"],
                    target_matchers: ["severity = warning"],
                    equal: ["alertname", "machine", "service"],
                },
            ],
            receivers:
                webhookUrl === undefined
                    ? [{ name: "null" }]
                    : [{ name: "webhook", webhook_configs: [{ url: webhookUrl, send_resolved: true }] }],
        },
        { lineWidth: 0 },
    );
}
