import { createHash } from "node:crypto";

/** The pinned npm version of @modelcontextprotocol/server-sequential-thinking baked into the image. */
export const sequentialThinkingVersion = "2026.8.31";

/** The local repository the tool server image is tagged with on each tools machine (never pushed). */
export const toolsImageRepository = "ai-platform/mcpo-sequential-thinking";

/** A file of the build context, by name, with its content. */
export interface BuildFile {
    readonly name: string;
    readonly content: string;
}

/** The build arguments of components/tools/Dockerfile. */
export function toolsBuildArgs(baseImage: string): Record<string, string> {
    return { MCPO_IMAGE: baseImage, SEQUENTIAL_THINKING_VERSION: sequentialThinkingVersion };
}

/**
 * The image reference: the server version and a digest of everything that goes into the build,
 * so that any change (base image, version, Dockerfile, entrypoint) is a new tag, hence a rebuild
 * and a new container, and an unchanged build keeps its tag. Pure.
 */
export function toolsImageRef(baseImage: string, files: readonly BuildFile[]): string {
    const hash = createHash("sha256").update(JSON.stringify({ args: toolsBuildArgs(baseImage), files: [...files].sort((a, b) => (a.name < b.name ? -1 : 1)) }));
    return `${toolsImageRepository}:${sequentialThinkingVersion}-${hash.digest("hex").slice(0, 12)}`;
}
