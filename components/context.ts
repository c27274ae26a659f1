import { PlatformConfig } from "../config/platform";
import { UserSecrets } from "../config/load";
import { Machine } from "../machines/machine";
import { Placement } from "../machines/placement";
import { Catalog } from "./catalog/catalog";
import { PlatformSecrets } from "./secrets/secrets";

/** What every service family is handed: the validated config, where things run, and the secrets. */
export interface PlatformContext {
    readonly config: PlatformConfig;
    readonly placement: Placement;
    readonly catalog: Catalog;
    /** Generated platform secrets. */
    readonly secrets: PlatformSecrets;
    /** Secrets the user set in config. */
    readonly userSecrets: UserSecrets;
    /** The Machine component of every enabled machine, by name. */
    readonly machines: ReadonlyMap<string, Machine>;
}

/** The Machine that runs a service role's instance, or undefined when no enabled machine has that role. */
export function machineWithRole(context: PlatformContext, role: string): Machine | undefined {
    for (const machine of context.machines.values()) if (machine.placed.roles.some((r) => r === role)) return machine;
    return undefined;
}
