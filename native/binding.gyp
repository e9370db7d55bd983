{
  "targets": [
    {
      "target_name": "tsflow_recv",
      "sources": ["recv.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-std=gnu11"],
      "conditions": [["OS!='linux'", {"type": "none"}]]
    },
    {
      "target_name": "tsflow_lz4",
      "sources": ["lz4.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-std=gnu11"],
      "libraries": ["-ldl"],
      "conditions": [["OS!='linux'", {"type": "none"}]]
    },
    {
      "target_name": "tsflow_send",
      "sources": ["send.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-std=gnu11"],
      "conditions": [["OS!='linux'", {"type": "none"}]]
    },
    {
      "target_name": "tsflow_zone",
      "sources": ["zone.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-std=gnu11", "-ffp-contract=off"],
      "conditions": [["OS!='linux'", {"type": "none"}]]
    },
    {
      "target_name": "tsflow_pcap",
      "sources": ["pcap.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-std=gnu11"],
      "libraries": ["-lpcap"],
      "conditions": [["OS!='linux' or '<!(test -f /usr/include/pcap/pcap.h && echo 1 || echo 0)'!='1'", {"type": "none"}]]
    },
    {
      "target_name": "tsflow_encode",
      "sources": ["encode.c"],
      "cflags": ["-O3", "-ffp-contract=off", "-Wall", "-Wextra", "-std=gnu11", "-pthread"],
      "libraries": ["-ldl", "-lpthread"],
      "conditions": [["OS!='linux'", {"type": "none"}]]
    }
  ]
}
