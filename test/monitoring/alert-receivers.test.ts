import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import { alertmanagerSecretFiles, renderAlertmanagerConfig } from "../../components/monitoring/alertmanager";
import { validatePlatform } from "../../config/platform";
import { AlertmanagerBinary, alertmanagerBinaries, postAlerts, receiversByAlert, RunningAlertmanager, startAlertmanager, waitFor } from "./alertmanager-process";
import { Delivery, HttpSinks, SmtpSink, startHttpSinks, startSmtpSink } from "./receiver-sinks";
import { homelab, writeTree } from "./render";

/**
 * End to end: the rendered alertmanager.yml, run by a real Alertmanager on loopback, delivers a
 * critical and a warning alert to loopback servers playing Slack, Discord, Telegram, an SMTP
 * server, ntfy and a plain webhook. Every assertion reads what the sinks received.
 */

const secrets = {
    slack: "T000/B000/slack-secret-path",
    discord: "123/discord-secret-path",
    telegram: "123456:telegram-secret-token",
    smtp: "smtp-secret-password",
    ntfyTopic: "lab-alerts-secret-topic",
    ntfyToken: "tk_ntfysecrettoken",
    webhook: "webhook-secret-path",
};

/** The stack config of the test: every type, some taking one severity only. */
function alertsConfig(sinks: HttpSinks, smtp: SmtpSink): Record<string, unknown> {
    return {
        routing: { groupWait: "1s", groupInterval: "1s" },
        alerts: [
            { type: "slack", url: `${sinks.url}/slack/${secrets.slack}`, channel: "#alerts" },
            { type: "discord", url: `${sinks.url}/discord/${secrets.discord}`, severities: ["critical"] },
            { type: "telegram", botToken: secrets.telegram, chatId: -1001234, apiUrl: `${sinks.url}/telegram`, severities: ["warning"] },
            { type: "email", to: "oncall@lab.example", from: "alertmanager@lab.example", smarthost: `${smtp.host}:${smtp.port}`, username: "alertmanager", password: secrets.smtp, requireTls: false },
            { type: "ntfy", url: `${sinks.url}/ntfy/${secrets.ntfyTopic}`, token: secrets.ntfyToken },
            { type: "webhook", url: `${sinks.url}/webhook/${secrets.webhook}`, severities: ["critical"] },
        ],
    };
}

const critical = { labels: { alertname: "InstanceDown", severity: "critical", machine: "kratos", service: "ollama" }, annotations: { summary: "ollama on kratos does not answer scrapes" } };
const warning = { labels: { alertname: "DiskNearlyFull", severity: "warning", machine: "moros", service: "node-exporter" }, annotations: { summary: "/ on moros has less than 10% free space" } };

/** How many notifications each sink must get: one per alert group its severities take. */
const expected: Record<string, number> = { slack: 2, discord: 1, telegram: 1, ntfy: 2, webhook: 1 };

const { found, missing } = alertmanagerBinaries();

describe("alert receivers, end to end through a real Alertmanager", () => {
    test("Debian's Alertmanager is installed (.ci/run: apt-get install prometheus-alertmanager)", () => {
        assert.ok(found.some((b) => b.path === "/usr/bin/prometheus-alertmanager"), `missing: ${missing.join(", ")}`);
    });

    for (const binary of found) describeBinary(binary);
    for (const absent of missing.filter((m) => !m.startsWith("Debian"))) {
        test(`${absent} is built (.ci/run builds it with go install; ALERTMANAGER_0_28 names another build)`, () => assert.fail(`missing: ${absent}`));
    }
});

function describeBinary(binary: AlertmanagerBinary): void {
    const mode = binary.credentialFiles ? "secrets in *_file secret files" : "secrets inline";
    describe(`${binary.label}, ${mode}`, () => {
        let sinks: HttpSinks;
        let smtp: SmtpSink;
        let alertmanager: RunningAlertmanager;
        let configText: string;
        const byService = (service: string): Delivery[] => sinks.deliveries.filter((d) => d.service === service);

        before(async () => {
            sinks = await startHttpSinks();
            smtp = await startSmtpSink();
            const result = validatePlatform({ ...homelab, monitoring: alertsConfig(sinks, smtp) });
            assert.ok(result.ok, JSON.stringify(!result.ok && result.issues));
            const { alerts, routing } = result.config.monitoring;
            const credentials = result.secrets.alertCredentials;
            const dir = writeTree({});
            const secretDir = path.join(dir, "secrets");
            fs.mkdirSync(secretDir);
            if (binary.credentialFiles) {
                configText = renderAlertmanagerConfig(alerts, routing, { files: secretDir });
                for (const file of alertmanagerSecretFiles(alerts, secretDir)) fs.writeFileSync(file.path, file.content(credentials[file.receiver]), { mode: 0o600 });
            } else {
                configText = renderAlertmanagerConfig(alerts, routing, { inline: credentials });
            }
            fs.writeFileSync(path.join(dir, "alertmanager.yml"), configText);
            alertmanager = await startAlertmanager(binary, path.join(dir, "alertmanager.yml"));
            await postAlerts(alertmanager.url, [critical, warning]);
            await waitFor(
                "every receiver's notifications",
                () => (Object.entries(expected).every(([service, count]) => byService(service).length >= count) && smtp.mails.length >= 2 ? true : undefined),
                90_000,
            ).catch((error: Error) => {
                throw new Error(`${error.message}\nreceived: ${JSON.stringify(sinks.deliveries.map((d) => [d.service, d.path, d.problems]))}, mails: ${smtp.mails.length}\n${alertmanager.logs()}`);
            });
        });

        after(async () => {
            await alertmanager?.stop();
            await sinks?.close();
            await smtp?.close();
        });

        test("Alertmanager routes the critical alert to the critical receiver and the warning alert to the warning receiver", async () => {
            assert.deepEqual(await receiversByAlert(alertmanager.url), { InstanceDown: ["critical"], DiskNearlyFull: ["warning"] });
        });

        test("every request is one the real service accepts (its shape, its path)", () => {
            for (const delivery of sinks.deliveries) assert.deepEqual(delivery.problems, [], `${delivery.service} ${delivery.body}`);
        });

        test("Slack gets both alerts as a message with the alert's summary, on the incoming-webhook URL", () => {
            const slack = byService("slack");
            assert.deepEqual(slack.map((d) => d.path).sort(), [`/${secrets.slack}`, `/${secrets.slack}`]);
            assert.equal(slack.filter((d) => /InstanceDown/.test(d.text) && d.text.includes(critical.annotations.summary)).length, 1);
            assert.equal(slack.filter((d) => /DiskNearlyFull/.test(d.text) && d.text.includes(warning.annotations.summary)).length, 1);
            assert.ok(slack.every((d) => (JSON.parse(d.body) as { channel?: string }).channel === "#alerts"));
        });

        test("Discord (critical only) gets the critical alert as a message with content or an embed", () => {
            const discord = byService("discord");
            assert.equal(discord.length, 1);
            assert.equal(discord[0].path, `/${secrets.discord}`);
            assert.match(discord[0].text, /InstanceDown/);
            assert.doesNotMatch(discord[0].text, /DiskNearlyFull/);
        });

        test("Telegram (warning only) gets sendMessage for the warning alert, with the bot token in the path and the chat id", () => {
            const telegram = byService("telegram");
            assert.equal(telegram.length, 1);
            assert.equal(telegram[0].path, `/bot${secrets.telegram}/sendMessage`);
            assert.match(telegram[0].text, /DiskNearlyFull/);
            assert.doesNotMatch(telegram[0].text, /InstanceDown/);
            assert.match(telegram[0].body, /-1001234/);
        });

        test("ntfy gets both alerts on the topic, rendered by its alertmanager template: urgent for critical, default for warning, with the token", () => {
            const ntfy = byService("ntfy");
            const priority = (d: Delivery) => new URL(d.path, "http://sink").searchParams.get("priority");
            const firstLine = (d: Delivery) => d.text.split("\n")[0];
            assert.deepEqual(ntfy.map((d) => [firstLine(d), priority(d)]).sort(), [
                ["Alert: DiskNearlyFull", "default"],
                ["Alert: InstanceDown", "urgent"],
            ]);
            for (const d of ntfy) {
                assert.equal(new URL(d.path, "http://sink").pathname, `/${secrets.ntfyTopic}`);
                assert.equal(d.headers.authorization, `Bearer ${secrets.ntfyToken}`);
            }
        });

        test("the webhook (critical only) gets Alertmanager's JSON for the critical alert", () => {
            const webhook = byService("webhook");
            assert.equal(webhook.length, 1);
            assert.equal(webhook[0].path, `/${secrets.webhook}`);
            assert.match(webhook[0].text, /InstanceDown/);
        });

        test("mail goes through the SMTP server with the login and password, one per alert, to and from the configured addresses", () => {
            assert.equal(smtp.mails.length, 2);
            for (const mail of smtp.mails) {
                assert.equal(mail.from, "alertmanager@lab.example");
                assert.deepEqual(mail.to, ["oncall@lab.example"]);
                assert.deepEqual(mail.auth, { username: "alertmanager", password: secrets.smtp });
            }
            const subjects = smtp.mails.map((m) => /^Subject: (.*)$/m.exec(m.data)?.[1] ?? "").sort();
            assert.match(subjects[0], /DiskNearlyFull/);
            assert.match(subjects[1], /InstanceDown/);
        });

        // Last: it adds deliveries the counts above do not expect.
        test("resolving the critical alert notifies its receivers again (sendResolved), in each service's shape", async () => {
            await postAlerts(alertmanager.url, [{ ...critical, endsAt: new Date().toISOString() }]);
            const resolved = (service: string) => byService(service).filter((d) => /resolved|RESOLVED/.test(d.body));
            await waitFor("resolved notifications to Slack, ntfy and the webhook", () => (["slack", "ntfy", "webhook"].every((s) => resolved(s).length > 0) ? true : undefined));
            assert.match(resolved("slack")[0].text, /\[RESOLVED\] InstanceDown/);
            assert.match(resolved("ntfy")[0].text, /^Resolved: InstanceDown/);
            for (const delivery of sinks.deliveries) assert.deepEqual(delivery.problems, [], delivery.service);
        });

        if (binary.credentialFiles) {
            test("with secret files, alertmanager.yml, Alertmanager's status API and its debug log hold no secret", async () => {
                const status = await (await fetch(`${alertmanager.url}/api/v2/status`)).text();
                for (const value of Object.values(secrets)) {
                    assert.ok(!configText.includes(value), `alertmanager.yml holds ${value}`);
                    assert.ok(!status.includes(value), `/api/v2/status shows ${value}`);
                    assert.ok(!alertmanager.logs().includes(value), `the log shows ${value}`);
                }
            });
        }
    });
}

describe("the old setup, Alertmanager's webhook JSON posted to Slack, Discord and ntfy, is refused by the sinks (they can fail)", () => {
    const debian = found.find((b) => !b.credentialFiles);
    let sinks: HttpSinks;
    let alertmanager: RunningAlertmanager | undefined;

    before(async () => {
        sinks = await startHttpSinks();
        if (debian === undefined) return;
        const legacy = ["slack/T0/B0/x", "discord/1/x", "ntfy/topic"].map((p) => ({ type: "webhook", url: `${sinks.url}/${p}` }));
        const result = validatePlatform({ ...homelab, monitoring: { routing: { groupWait: "1s" }, alerts: legacy } });
        assert.ok(result.ok);
        const dir = writeTree({ "alertmanager.yml": renderAlertmanagerConfig(result.config.monitoring.alerts, result.config.monitoring.routing, { inline: result.secrets.alertCredentials }) });
        alertmanager = await startAlertmanager(debian, path.join(dir, "alertmanager.yml"));
        await postAlerts(alertmanager.url, [critical]);
        await waitFor("the three webhook posts", () => (new Set(sinks.deliveries.map((d) => d.service)).size >= 3 ? true : undefined));
    });

    after(async () => {
        await alertmanager?.stop();
        await sinks?.close();
    });

    test("each service would reject it or show raw JSON", { skip: debian === undefined ? "no Debian Alertmanager" : false }, () => {
        const services = [...new Set(sinks.deliveries.map((d) => d.service))].sort();
        assert.deepEqual(services, ["discord", "ntfy", "slack"]);
        for (const delivery of sinks.deliveries) assert.notDeepEqual(delivery.problems, [], delivery.service);
    });
});
