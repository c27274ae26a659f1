import { StackConfig } from "../harness/program";

/**
 * The lab the namespace tests build: five machines on 10.213.0.0/24 (a private range no real
 * network here uses), no NAS, an operator workstation in adminCidrs, and a guest device that is
 * on the LAN but in nothing's config.
 */
export const labAddresses = {
    db: "10.213.0.11",
    replica: "10.213.0.12",
    gpu: "10.213.0.13",
    cpu: "10.213.0.14",
    mon: "10.213.0.15",
    admin: "10.213.0.50",
    guest: "10.213.0.99",
} as const;

export const labPrefix = 24;

export const labStack: StackConfig = {
    domain: "lab.test",
    lanCidr: "10.213.0.0/24",
    ssh: { user: "root" },
    adminCidrs: [`${labAddresses.admin}/32`],
    machines: {
        db: { address: labAddresses.db, roles: ["database", "edge"] },
        replica: { address: labAddresses.replica, roles: ["database-replica", "tools"] },
        gpu: { address: labAddresses.gpu, roles: ["inference", "gateway", "webui"], gpu: { vendor: "nvidia", vramGb: 24 } },
        cpu: { address: labAddresses.cpu, roles: ["inference"], memoryGb: 16 },
        mon: { address: labAddresses.mon, roles: ["monitoring"] },
    },
    models: [{ name: "qwen2.5:0.5b", sizeGb: 0.4, nodes: ["gpu", "cpu"] }],
};
