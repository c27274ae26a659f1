import * as assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parse, stringify } from "yaml";
import { alertRules, renderAlertRules, thresholds } from "../../components/monitoring/rules";
import { runTool, writeTree } from "./render";

const node = { job: "node-exporter", instance: "192.168.10.11:9100", machine: "erebus", service: "node-exporter" };
const dcgm = { job: "dcgm-exporter", instance: "192.168.10.21:9400", machine: "orpheus", service: "dcgm-exporter", gpu: "0" };
const amd = { job: "amd-exporter", instance: "192.168.10.24:5000", machine: "hades", service: "amd-exporter", gpu_id: "1" };
const primary = { job: "postgres-exporter", instance: "192.168.10.11:9187", machine: "erebus", service: "postgres-exporter" };

function series(name: string, labels: Record<string, string>, values: string): { series: string; values: string } {
    const body = Object.entries(labels).map(([k, v]) => `${k}="${v}"`).join(", ");
    return { series: `${name}{${body}}`, values };
}


/** promtool unit tests for the main alerts: each fires after its `for`, and not before. */
const unitTests = [
    {
        name: "InstanceDown fires after 5 minutes without a scrape",
        interval: "1m",
        input_series: [series("up", node, "1 0x10"), series("up", { ...node, machine: "zelus", instance: "192.168.10.14:9100" }, "1x11")],
        alert_rule_test: [
            { eval_time: "4m", alertname: "InstanceDown", exp_alerts: [] },
            {
                eval_time: "7m",
                alertname: "InstanceDown",
                exp_alerts: [
                    {
                        exp_labels: { ...node, severity: "critical" },
                        exp_annotations: { summary: "node-exporter on erebus does not answer scrapes" },
                    },
                ],
            },
        ],
    },
    {
        name: "ProbeFailing fires on a failed health probe",
        interval: "1m",
        input_series: [series("probe_success", { job: "probe-http", instance: "http://192.168.10.21:4000/health/liveliness", machine: "orpheus", service: "litellm" }, "0x10")],
        alert_rule_test: [
            {
                eval_time: "6m",
                alertname: "ProbeFailing",
                exp_alerts: [
                    {
                        exp_labels: { job: "probe-http", instance: "http://192.168.10.21:4000/health/liveliness", machine: "orpheus", service: "litellm", severity: "critical" },
                        exp_annotations: { summary: "health probe of litellm on orpheus fails (http://192.168.10.21:4000/health/liveliness)" },
                    },
                ],
            },
        ],
    },
    {
        name: "DiskNearlyFull fires below 10% free on a writable disk, not on a read-only one",
        interval: "1m",
        input_series: [
            series("node_filesystem_avail_bytes", { ...node, mountpoint: "/", fstype: "ext4", device: "/dev/sda1" }, "5x20"),
            series("node_filesystem_size_bytes", { ...node, mountpoint: "/", fstype: "ext4", device: "/dev/sda1" }, "100x20"),
            series("node_filesystem_readonly", { ...node, mountpoint: "/", fstype: "ext4", device: "/dev/sda1" }, "0x20"),
            series("node_filesystem_avail_bytes", { ...node, mountpoint: "/boot", fstype: "ext4", device: "/dev/sda2" }, "1x20"),
            series("node_filesystem_size_bytes", { ...node, mountpoint: "/boot", fstype: "ext4", device: "/dev/sda2" }, "100x20"),
            series("node_filesystem_readonly", { ...node, mountpoint: "/boot", fstype: "ext4", device: "/dev/sda2" }, "1x20"),
        ],
        alert_rule_test: [
            { eval_time: "10m", alertname: "DiskNearlyFull", exp_alerts: [] },
            { eval_time: "16m", alertname: "DiskNearlyFull", exp_alerts: [
                    {
                        exp_labels: { ...node, mountpoint: "/", fstype: "ext4", device: "/dev/sda1", severity: "warning" },
                        exp_annotations: { summary: "/ on erebus has less than 10% free space" },
                    },
                ],
            },
        ],
    },
    {
        name: "GpuTemperatureHigh fires for a hot NVIDIA GPU and a hot AMD junction",
        interval: "1m",
        input_series: [
            series("DCGM_FI_DEV_GPU_TEMP", dcgm, `${thresholds.nvidiaGpuCelsius + 5}x15`),
            series("DCGM_FI_DEV_GPU_TEMP", { ...dcgm, gpu: "1" }, "60x15"),
            series("gpu_junction_temperature", amd, `${thresholds.amdJunctionCelsius + 5}x15`),
            series("gpu_edge_temperature", amd, "70x15"),
        ],
        alert_rule_test: [
            { eval_time: "5m", alertname: "GpuTemperatureHigh", exp_alerts: [] },
            {
                eval_time: "11m",
                alertname: "GpuTemperatureHigh",
                exp_alerts: [
                    { exp_labels: { ...dcgm, severity: "warning" }, exp_annotations: { summary: "GPU 0 on orpheus runs hot (90 C)" } },
                    { exp_labels: { ...amd, severity: "warning" }, exp_annotations: { summary: "GPU 1 on hades runs hot (105 C)" } },
                ],
            },
        ],
    },
    {
        name: "GpuMemoryNearlyFull fires above 95% of GPU memory for 30 minutes, NVIDIA and AMD",
        interval: "5m",
        input_series: [
            series("DCGM_FI_DEV_FB_USED", dcgm, "23500x10"),
            series("DCGM_FI_DEV_FB_FREE", dcgm, "500x10"),
            series("gpu_used_vram", amd, "48000x10"),
            series("gpu_total_vram", amd, "49152x10"),
        ],
        alert_rule_test: [
            { eval_time: "25m", alertname: "GpuMemoryNearlyFull", exp_alerts: [] },
            {
                eval_time: "35m",
                alertname: "GpuMemoryNearlyFull",
                exp_alerts: [
                    { exp_labels: { ...dcgm, severity: "warning" }, exp_annotations: { summary: "GPU 0 on orpheus has used more than 95% of its memory for 30 minutes" } },
                    { exp_labels: { ...amd, severity: "warning" }, exp_annotations: { summary: "GPU 1 on hades has used more than 95% of its memory for 30 minutes" } },
                ],
            },
        ],
    },
    {
        name: "PostgresReplicationLag fires when the replica is more than 64 MiB behind",
        interval: "1m",
        input_series: [series("pg_stat_replication_pg_wal_lsn_diff", { ...primary, application_name: "thanatos", client_addr: "192.168.10.13", state: "streaming" }, "0+20000000x10")],
        alert_rule_test: [
            { eval_time: "3m", alertname: "PostgresReplicationLag", exp_alerts: [] },
            {
                eval_time: "10m",
                alertname: "PostgresReplicationLag",
                exp_alerts: [
                    {
                        exp_labels: { ...primary, application_name: "thanatos", client_addr: "192.168.10.13", state: "streaming", severity: "warning" },
                        exp_annotations: { summary: "replica thanatos is more than 64 MiB of WAL behind the primary on erebus" },
                    },
                ],
            },
        ],
    },
    {
        name: "PostgresReplicaDown fires when the replication slot has no streaming replica",
        interval: "1m",
        input_series: [series("pg_replication_slot_slot_is_active", { ...primary, slot_name: "replica_thanatos", slot_type: "physical" }, "1 1 0x10")],
        alert_rule_test: [
            { eval_time: "5m", alertname: "PostgresReplicaDown", exp_alerts: [] },
            {
                eval_time: "8m",
                alertname: "PostgresReplicaDown",
                exp_alerts: [
                    {
                        exp_labels: { ...primary, slot_name: "replica_thanatos", slot_type: "physical", severity: "critical" },
                        exp_annotations: { summary: "no replica streams from replication slot replica_thanatos on erebus" },
                    },
                ],
            },
        ],
    },
    {
        name: "ContainerRestarting fires on a container that restarts in a loop",
        interval: "1m",
        input_series: [
            series("container_start_time_seconds", { job: "cadvisor", instance: "192.168.10.21:8080", machine: "orpheus", service: "cadvisor", name: "orpheus-litellm" }, "100 100 300 300 500 500 700 700"),
            series("container_start_time_seconds", { job: "cadvisor", instance: "192.168.10.21:8080", machine: "orpheus", service: "cadvisor", name: "orpheus-ollama" }, "100x7"),
        ],
        alert_rule_test: [
            {
                eval_time: "7m",
                alertname: "ContainerRestarting",
                exp_alerts: [
                    {
                        exp_labels: { job: "cadvisor", instance: "192.168.10.21:8080", machine: "orpheus", service: "cadvisor", name: "orpheus-litellm", severity: "warning" },
                        exp_annotations: { summary: "container orpheus-litellm on orpheus restarted 3 or more times in 15 minutes" },
                    },
                ],
            },
        ],
    },
];

describe("alert rules", () => {
    const rules = renderAlertRules();

    test("promtool check rules accepts the rendered file", () => {
        const dir = writeTree({ "platform.yml": rules });
        const result = runTool("promtool", ["check", "rules", "platform.yml"], dir);
        assert.equal(result.status, 0, result.output);
    });

    test("promtool test rules: the main alerts fire when they should and not before", () => {
        const dir = writeTree({ "platform.yml": rules, "platform.test.yml": stringify({ rule_files: ["platform.yml"], evaluation_interval: "1m", tests: unitTests }) });
        const result = runTool("promtool", ["test", "rules", "platform.test.yml"], dir);
        assert.equal(result.status, 0, result.output);
        assert.match(result.output, /SUCCESS/);
    });

    test("cover what the platform promises: down, probes, disk, GPU heat and memory, replication, restarts", () => {
        const names = (parse(rules) as { groups: { rules: { alert: string; labels: { severity: string } }[] }[] }).groups.flatMap((g) => g.rules.map((r) => r.alert));
        for (const name of ["InstanceDown", "ProbeFailing", "DiskNearlyFull", "GpuTemperatureHigh", "GpuMemoryNearlyFull", "PostgresReplicationLag", "PostgresReplicaDown", "ContainerRestarting"]) {
            assert.ok(names.includes(name), name);
        }
        assert.equal(new Set(names).size, names.length, "alert names are unique");
        assert.equal(names.length, Object.values(alertRules).flat().length);
    });
});
