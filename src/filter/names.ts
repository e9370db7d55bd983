// SPDX-License-Identifier: BSD-3-Clause
// Symbolic values the filter accepts: protocol names (nfdump's protoList, where a name's number is its index
// and the first index wins for duplicates), forwarding status names, NSEL/NEL event names.

// prettier-ignore
const PROTO_LIST = [
  "0", "ICMP", "IGMP", "GGP", "IPIP", "ST", "TCP", "CBT", "EGP", "IGP", "BBN", "NVPII", "PUP", "ARGUS", "ENCOM", "XNET",
  "CHAOS", "UDP", "MUX", "DCN", "HMP", "PRM", "XNS", "Trnk1", "Trnk2", "Leaf1", "Leaf2", "RDP", "IRTP", "ISO-4", "NETBK",
  "MFESP", "MEINP", "DCCP", "3PC", "IDPR", "XTP", "DDP", "IDPR", "TP++", "IL", "IPv6", "SDRP", "Rte6", "Frag6", "IDRP",
  "RSVP", "GRE", "MHRP", "BNA", "ESP", "AH", "INLSP", "SWIPE", "NARP", "MOBIL", "TLSP", "SKIP", "ICMP6", "NOHE6", "OPTS6",
  "HOST", "CFTP", "NET", "SATNT", "KLAN", "RVD", "IPPC", "FS", "SATM", "VISA", "IPCV", "CPNX", "CPHB", "WSN", "PVP",
  "BSATM", "SUNND", "WBMON", "WBEXP", "ISOIP", "VMTP", "SVMTP", "VINES", "TTP", "NSIGP", "DGP", "TCF", "EIGRP", "OSPF",
  "S-RPC", "LARP", "MTP", "AX.25", "IPIP", "MICP", "SCCSP", "ETHIP", "ENCAP", "99", "GMTP", "IFMP", "PNNI", "PIM", "ARIS",
  "SCPS", "QNX", "A/N", "IPcmp", "SNP", "CpqPP", "IPXIP", "VRRP", "PGM", "0hop", "L2TP", "DDX", "IATP", "STP", "SRP",
  "UTI", "SMP", "SM", "PTP", "ISIS4", "FIRE", "CRTP", "CRUDP", "128", "IPLT", "SPS", "PIPE", "SCTP", "FC", "134", "MHEAD",
  "UDP-L", "MPLS",
];

/** Lower-case protocol name → number. */
export const PROTOCOLS: ReadonlyMap<string, number> = (() => {
  const m = new Map<string, number>();
  PROTO_LIST.forEach((name, i) => {
    const k = name.toLowerCase();
    if (!/^\d+$/.test(k) && !m.has(k)) m.set(k, i);
  });
  return m;
})();

/** Forwarding status names (nfdump fwd_status_def_list), lower-case → code. */
export const FWD_STATUS: ReadonlyMap<string, number> = new Map(
  (
    [
      [0, "Ukwn"],
      [1, "Forw"],
      [2, "Frag"],
      [16, "Drop"],
      [17, "DaclD"],
      [18, "Daclp"],
      [19, "Noroute"],
      [20, "Dadj"],
      [21, "Dfrag"],
      [22, "Dbadh"],
      [23, "Dbadtlen"],
      [24, "Dbadhlen"],
      [25, "DbadTTL"],
      [26, "Dpolicy"],
      [27, "Dwred"],
      [28, "Drpf"],
      [29, "Dforus"],
      [30, "DbadOf"],
      [31, "Dhw"],
      [128, "Term"],
      [129, "Tadj"],
      [130, "TincAdj"],
      [131, "Tforus"],
    ] as const
  ).map(([id, name]) => [name.toLowerCase(), id]),
);

/** NSEL firewall events (`asa event NAME`): prefix, minimum prefix length as nfdump's strncasecmp, code. */
export const ASA_EVENTS: readonly (readonly [string, number])[] = [
  ["ignore", 0],
  ["create", 1],
  ["term", 2],
  ["delete", 2],
  ["deny", 3],
  ["alert", 4],
  ["update", 5],
];

/** NEL NAT events (`nat event NAME`). */
export const NAT_EVENTS: readonly (readonly [string, number])[] = [
  ["invalid", 0],
  ["add", 1],
  ["create", 1],
  ["delete", 2],
];
