import { Images } from "../../config/images";
import { PlatformConfig } from "../../config/platform";
import { PlacedMachine } from "../../machines/placement";

/** Where the shared model store (the NAS `models` export) is mounted in every Ollama container. */
export const modelStorePath = "/models";

/** The docker name of a machine's Ollama container (`<machine>-<spec name>`). */
export function ollamaContainerName(machine: string): string {
    return `${machine}-ollama`;
}

/**
 * The Ollama server's environment on one machine. Only the store's writer may prune: Ollama
 * deletes unreferenced blobs at start-up, and a second pruner on a shared store deletes the
 * blobs of a model the writer is still pulling.
 */
export function ollamaEnv(machine: PlacedMachine, settings: PlatformConfig["ollama"], internalPort: number): Record<string, string> {
    return {
        // All interfaces of the container's own network namespace; Docker publishes the port on the LAN address only.
        OLLAMA_HOST: `0.0.0.0:${internalPort}`,
        OLLAMA_MODELS: modelStorePath,
        OLLAMA_KEEP_ALIVE: settings.keepAlive,
        OLLAMA_NUM_PARALLEL: String(settings.numParallel),
        OLLAMA_MAX_LOADED_MODELS: String(settings.maxLoadedModels),
        OLLAMA_FLASH_ATTENTION: settings.flashAttention ? "1" : "0",
        OLLAMA_LOAD_TIMEOUT: settings.loadTimeout,
        ...(machine.modelStoreWriter ? {} : { OLLAMA_NOPRUNE: "1" }),
        ...(machine.gpu?.vendor === "amd" && machine.gpu.hsaOverrideGfxVersion !== undefined
            ? { HSA_OVERRIDE_GFX_VERSION: machine.gpu.hsaOverrideGfxVersion }
            : {}),
    };
}

/** How the container reaches the machine's GPU: the image and the devices it needs. */
export interface OllamaGpuWiring {
    readonly image: string;
    readonly nvidiaGpus: boolean;
    readonly devices: readonly string[];
    readonly groupAdds: readonly string[];
}

/** NVIDIA: a GPU request. AMD: the ROCm image with /dev/kfd and /dev/dri and the host's render/video groups. CPU: nothing. */
export function ollamaGpu(machine: PlacedMachine, images: Images): OllamaGpuWiring {
    const gpu = machine.gpu;
    if (gpu?.vendor === "nvidia") return { image: images.ollama, nvidiaGpus: true, devices: [], groupAdds: [] };
    if (gpu?.vendor === "amd") {
        const groups = [gpu.renderGroupId, gpu.videoGroupId].filter((id): id is number => id !== undefined).map(String);
        return { image: images.ollamaRocm, nvidiaGpus: false, devices: ["/dev/kfd", "/dev/dri"], groupAdds: groups };
    }
    return { image: images.ollama, nvidiaGpus: false, devices: [], groupAdds: [] };
}
