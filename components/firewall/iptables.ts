import { MachineFirewall, PortPolicy } from "./policy";

/**
 * The host firewall as iptables rules, in two chains the platform owns and nothing else:
 * `AI-PLATFORM`, jumped to from Docker's DOCKER-USER chain (published ports: Docker has DNATed the
 * packet already, so it is matched on conntrack's original destination address and port), and
 * `AI-PLATFORM-INPUT`, jumped to from INPUT (host-network services). Only new connections that
 * arrive on the LAN interface for the machine's address and one of the platform's ports are
 * judged: a listed source returns to the host's own rules, any other is refused with a TCP reset
 * (or ICMP port unreachable for UDP). The chains never accept anything, so they can only narrow
 * what the host already allows; SSH and every port the platform does not publish are untouched.
 */
export const chains = { published: "AI-PLATFORM", host: "AI-PLATFORM-INPUT" } as const;
/** Where each chain is jumped to from. */
export const jumpFrom = { published: "DOCKER-USER", host: "INPUT" } as const;
/** Stands for the LAN interface in the rendered rules; the apply script puts the interface that holds the machine's address there. */
export const lanInterfacePlaceholder = "@LAN_IF@";
/** The systemd unit that applies the rules again at boot and whenever dockerd (re)starts. */
export const unitName = "ai-platform-firewall.service";
export const defaultStateDir = "/etc/ai-platform";

function comment(text: string): string {
    // iptables comments: at most 256 characters, no quotes.
    return `-m comment --comment "${text.replace(/["\\]/g, "").slice(0, 250)}"`;
}

function match(fw: MachineFirewall, port: PortPolicy, lanInterface: string): string {
    const proto = `-p ${port.protocol}`;
    if (port.path === "published") return `-i ${lanInterface} ${proto} -m conntrack --ctstate NEW --ctorigdst ${fw.address}/32 --ctorigdstport ${port.port}`;
    return `-i ${lanInterface} -d ${fw.address}/32 ${proto} -m ${port.protocol} --dport ${port.port} -m conntrack --ctstate NEW`;
}

function refuse(port: PortPolicy): string {
    return port.protocol === "tcp" ? "-j REJECT --reject-with tcp-reset" : "-j REJECT --reject-with icmp-port-unreachable";
}

/**
 * The rules of one machine as `iptables-restore --noflush` input: declaring the two chains flushes
 * and refills them in one transaction, and leaves every other chain as it is. Pure.
 */
export function renderRules(fw: MachineFirewall, lanInterface: string = lanInterfacePlaceholder): string {
    const lines = ["*filter", `:${chains.published} - [0:0]`, `:${chains.host} - [0:0]`];
    for (const port of fw.ports) {
        const chain = chains[port.path];
        const what = `${port.instance}${port.portName === "main" ? "" : `.${port.portName}`} ${port.port}/${port.protocol}`;
        for (const source of port.sources) lines.push(`-A ${chain} ${match(fw, port, lanInterface)} -s ${source.cidr} ${comment(`${what}: ${source.why}`)} -j RETURN`);
        lines.push(`-A ${chain} ${match(fw, port, lanInterface)} ${comment(`${what}: anyone else`)} ${refuse(port)}`);
    }
    lines.push("COMMIT", "");
    return lines.join("\n");
}

function quote(value: string): string {
    return `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * The script that applies one machine's rules, as root: finds the interface that holds the
 * machine's address, refills the platform's chains atomically, and inserts each jump once.
 * Running it again changes nothing. It is saved on the machine and run again at boot and when
 * dockerd restarts (see renderInstallScript). Pure.
 */
export function renderApplyScript(fw: MachineFirewall): string {
    return `#!/bin/sh
# ai-platform host firewall of ${fw.machine}, rendered by components/firewall/iptables.ts.
# Refills the chains ${chains.published} (from ${jumpFrom.published}) and ${chains.host} (from ${jumpFrom.host}); touches nothing else.
set -eu
machine=${quote(fw.machine)}
address=${quote(fw.address)}
for tool in ip iptables iptables-restore; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "firewall $machine: $tool is not installed; fix: install iptables and iproute2 (apt-get install iptables iproute2), or set firewall.enabled: false" >&2
        exit 1
    fi
done
lan_if=$(ip -o -4 addr show | awk -v address="$address" '{ split($4, cidr, "/"); if (cidr[1] == address) { print $2; exit } }')
if [ -z "$lan_if" ]; then
    echo "firewall $machine: no interface holds $address; nothing was changed" >&2
    exit 1
fi
# dockerd creates ${jumpFrom.published} at start and keeps what is in it; create it if dockerd has not yet.
iptables -w -n -L ${jumpFrom.published} >/dev/null 2>&1 || iptables -w -N ${jumpFrom.published}
sed "s/${lanInterfacePlaceholder}/$lan_if/g" <<'RULES' | iptables-restore -w --noflush
${renderRules(fw)}RULES
iptables -w -C ${jumpFrom.published} -j ${chains.published} 2>/dev/null || iptables -w -I ${jumpFrom.published} 1 -j ${chains.published}
iptables -w -C ${jumpFrom.host} -j ${chains.host} 2>/dev/null || iptables -w -I ${jumpFrom.host} 1 -j ${chains.host}
if ! iptables -w -C FORWARD -j ${jumpFrom.published} 2>/dev/null; then
    echo "firewall $machine: warning: FORWARD does not jump to ${jumpFrom.published} (dockerd not started, or started with iptables disabled): published ports are not filtered until it does" >&2
fi
echo "firewall $machine: rules applied on $lan_if"
`;
}

/** How the install script runs: where it keeps the apply script, and whether it installs the systemd unit. */
export interface InstallOptions {
    readonly stateDir?: string;
    /** Install the unit when the machine runs systemd (default true; tests turn it off). */
    readonly systemd?: boolean;
}

/**
 * The create/update command's script (fed to `sh -s` as root): saves the apply script under
 * the state directory, runs it, and where systemd runs, installs and enables a unit that runs it
 * at boot and after every (re)start of docker.service. Pure.
 */
export function renderInstallScript(fw: MachineFirewall, options: InstallOptions = {}): string {
    const stateDir = options.stateDir ?? defaultStateDir;
    const unit = `[Unit]
Description=ai-platform host firewall (the rules of the Pulumi program, kept across reboots and dockerd restarts)
After=docker.service network-online.target
Wants=network-online.target
PartOf=docker.service

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/sh ${stateDir}/firewall.sh

[Install]
WantedBy=multi-user.target docker.service
`;
    const systemd =
        options.systemd === false
            ? ""
            : `if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
    cat > /etc/systemd/system/${unitName} <<'UNIT'
${unit}UNIT
    systemctl daemon-reload
    systemctl enable ${unitName} >/dev/null 2>&1
    echo "firewall $machine: ${unitName} applies the rules at boot and when dockerd restarts"
fi
`;
    return `set -eu
machine=${quote(fw.machine)}
state_dir=${quote(stateDir)}
mkdir -p "$state_dir"
cat > "$state_dir/firewall.sh.tmp" <<'APPLY'
${renderApplyScript(fw)}APPLY
mv "$state_dir/firewall.sh.tmp" "$state_dir/firewall.sh"
sh "$state_dir/firewall.sh"
${systemd}`;
}

/**
 * The delete command's script (as root): removes the jumps, the two chains, the unit and the
 * saved script, and nothing else. It never fails: a machine already without them is fine. Pure.
 */
export function renderRemoveScript(options: InstallOptions = {}): string {
    const stateDir = options.stateDir ?? defaultStateDir;
    const systemd =
        options.systemd === false
            ? ""
            : `if command -v systemctl >/dev/null 2>&1; then systemctl disable ${unitName} >/dev/null 2>&1 || true; fi
rm -f /etc/systemd/system/${unitName}
`;
    return `set -u
while iptables -w -D ${jumpFrom.published} -j ${chains.published} 2>/dev/null; do :; done
while iptables -w -D ${jumpFrom.host} -j ${chains.host} 2>/dev/null; do :; done
for chain in ${chains.published} ${chains.host}; do
    iptables -w -F "$chain" 2>/dev/null && iptables -w -X "$chain" 2>/dev/null
done
${systemd}rm -f ${quote(stateDir)}/firewall.sh
rmdir ${quote(stateDir)} 2>/dev/null
echo "firewall: the platform's chains are removed"
exit 0
`;
}

/** Runs a script given on stdin (`sh -s`) or as an argument (`sh -c`) as root: directly, or with `sudo -n` for another user. */
export function asRoot(shell: string): string {
    return `if [ "$(id -u)" -eq 0 ]; then ${shell}; else sudo -n ${shell}; fi`;
}
