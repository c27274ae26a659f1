import { majorVersion } from "../../config/images";
import { PlatformContext, machineWithRole } from "../context";
import { dataLayout } from "./layout";
import { PostgresPrimary } from "./primary";
import { PostgresReplica } from "./replica";

/**
 * The data tier: the primary (with its exporter and backups) under the `database` machine and,
 * when a machine has the `database-replica` role, a streaming replica under it. The replica does
 * not depend on the primary's resources, so destroying one machine leaves the other alone; it
 * retries its base backup until the primary answers.
 */
export function deployDatabase(context: PlatformContext): void {
    const primaryMachine = machineWithRole(context, "database");
    if (primaryMachine === undefined) return;
    const major = majorVersion(context.config.images.postgres);
    if (major === undefined) throw new Error("validatePlatform guarantees images.postgres names its major version");
    const layout = dataLayout(major);
    const replicaMachine = machineWithRole(context, "database-replica");

    new PostgresPrimary(
        `${primaryMachine.machineName}-database`,
        { machine: primaryMachine, config: context.config, layout, secrets: context.secrets, withReplica: replicaMachine !== undefined },
        { parent: primaryMachine },
    );
    if (replicaMachine !== undefined) {
        new PostgresReplica(
            `${replicaMachine.machineName}-database-replica`,
            {
                machine: replicaMachine,
                config: context.config,
                layout,
                secrets: context.secrets,
                primary: { host: primaryMachine.placed.address, port: primaryMachine.port("postgres").external },
            },
            { parent: replicaMachine },
        );
    }
}
