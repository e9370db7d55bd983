{
  "targets": [
    {
      "target_name": "tsflow_recv",
      "sources": ["recv.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-std=gnu11"],
      "conditions": [["OS!='linux'", {"type": "none"}]]
    }
  ]
}
