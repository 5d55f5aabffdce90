# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Real outputs captured on a lab host (Debian 12: nft 1.0.6, iptables 1.8.9 nf_tables) after runs of
nat_masquerade (10.88.0.0/24, and 10.89.0.0/24 isolated) and port_forward (tcp 80 -> 10.88.0.3:8080 "web";
tcp 9000-9001 -> 10.88.0.4 from 10.0.0.0/8 and 198.18.0.0/24; udp 127.0.0.1:5000-5001 -> 10.88.0.3:6000-6001),
plus hand-made rules for 10.99.0.0/24 in iptables. No tests here: data for test_netfilter_*.py.
"""

# nft -j list table ip anatomy (pretty-printed; the content is as captured)
NFT_JSON = r"""{
 "nftables": [
  {
   "metainfo": {
    "version": "1.0.6",
    "release_name": "Lester Gooch #5",
    "json_schema_version": 1
   }
  },
  {
   "table": {
    "family": "ip",
    "name": "anatomy",
    "handle": 1
   }
  },
  {
   "map": {
    "family": "ip",
    "name": "pf_addr",
    "table": "anatomy",
    "type": [
     "ipv4_addr",
     "inet_proto",
     "inet_service"
    ],
    "handle": 24,
    "map": "verdict",
    "elem": [
     [
      {
       "concat": [
        "127.0.0.1",
        "udp",
        5000
       ]
      },
      {
       "jump": {
        "target": "pf_udp_127_0_0_1_5000_5001"
       }
      }
     ],
     [
      {
       "concat": [
        "127.0.0.1",
        "udp",
        5001
       ]
      },
      {
       "jump": {
        "target": "pf_udp_127_0_0_1_5000_5001"
       }
      }
     ]
    ]
   }
  },
  {
   "map": {
    "family": "ip",
    "name": "pf_any",
    "table": "anatomy",
    "type": [
     "inet_proto",
     "inet_service"
    ],
    "handle": 25,
    "map": "verdict",
    "elem": [
     [
      {
       "concat": [
        "tcp",
        9000
       ]
      },
      {
       "jump": {
        "target": "pf_tcp_0_0_0_0_9000_9001"
       }
      }
     ],
     [
      {
       "concat": [
        "tcp",
        9001
       ]
      },
      {
       "jump": {
        "target": "pf_tcp_0_0_0_0_9000_9001"
       }
      }
     ],
     [
      {
       "concat": [
        "tcp",
        80
       ]
      },
      {
       "jump": {
        "target": "pf_tcp_0_0_0_0_80"
       }
      }
     ]
    ]
   }
  },
  {
   "chain": {
    "family": "ip",
    "table": "anatomy",
    "name": "nm_forward",
    "handle": 1,
    "type": "filter",
    "hook": "forward",
    "prio": 0,
    "policy": "accept"
   }
  },
  {
   "chain": {
    "family": "ip",
    "table": "anatomy",
    "name": "nm_postrouting",
    "handle": 2,
    "type": "nat",
    "hook": "postrouting",
    "prio": 100,
    "policy": "accept"
   }
  },
  {
   "chain": {
    "family": "ip",
    "table": "anatomy",
    "name": "pf_output",
    "handle": 21,
    "type": "nat",
    "hook": "output",
    "prio": -100,
    "policy": "accept"
   }
  },
  {
   "chain": {
    "family": "ip",
    "table": "anatomy",
    "name": "pf_postrouting",
    "handle": 22,
    "type": "nat",
    "hook": "postrouting",
    "prio": 100,
    "policy": "accept"
   }
  },
  {
   "chain": {
    "family": "ip",
    "table": "anatomy",
    "name": "pf_prerouting",
    "handle": 23,
    "type": "nat",
    "hook": "prerouting",
    "prio": -100,
    "policy": "accept"
   }
  },
  {
   "chain": {
    "family": "ip",
    "table": "anatomy",
    "name": "pf_tcp_0_0_0_0_80",
    "handle": 26
   }
  },
  {
   "chain": {
    "family": "ip",
    "table": "anatomy",
    "name": "pf_tcp_0_0_0_0_9000_9001",
    "handle": 27
   }
  },
  {
   "chain": {
    "family": "ip",
    "table": "anatomy",
    "name": "pf_udp_127_0_0_1_5000_5001",
    "handle": 28
   }
  },
  {
   "rule": {
    "family": "ip",
    "table": "anatomy",
    "chain": "nm_forward",
    "handle": 3,
    "comment": "10.89.0.0/24",
    "expr": [
     {
      "match": {
       "op": "==",
       "left": {
        "payload": {
         "protocol": "ip",
         "field": "saddr"
        }
       },
       "right": {
        "prefix": {
         "addr": "10.89.0.0",
         "len": 24
        }
       }
      }
     },
     {
      "match": {
       "op": "==",
       "left": {
        "payload": {
         "protocol": "ip",
         "field": "daddr"
        }
       },
       "right": {
        "prefix": {
         "addr": "10.88.0.0",
         "len": 24
        }
       }
      }
     },
     {
      "drop": null
     }
    ]
   }
  },
  {
   "rule": {
    "family": "ip",
    "table": "anatomy",
    "chain": "nm_forward",
    "handle": 4,
    "comment": "10.89.0.0/24",
    "expr": [
     {
      "match": {
       "op": "==",
       "left": {
        "payload": {
         "protocol": "ip",
         "field": "saddr"
        }
       },
       "right": {
        "prefix": {
         "addr": "10.88.0.0",
         "len": 24
        }
       }
      }
     },
     {
      "match": {
       "op": "==",
       "left": {
        "payload": {
         "protocol": "ip",
         "field": "daddr"
        }
       },
       "right": {
        "prefix": {
         "addr": "10.89.0.0",
         "len": 24
        }
       }
      }
     },
     {
      "drop": null
     }
    ]
   }
  },
  {
   "rule": {
    "family": "ip",
    "table": "anatomy",
    "chain": "nm_forward",
    "handle": 5,
    "comment": "10.88.0.0/24",
    "expr": [
     {
      "match": {
       "op": "==",
       "left": {
        "payload": {
         "protocol": "ip",
         "field": "daddr"
        }
       },
       "right": {
        "prefix": {
         "addr": "10.88.0.0",
         "len": 24
        }
       }
      }
     },
     {
      "match": {
       "op": "in",
       "left": {
        "ct": {
         "key": "state"
        }
       },
       "right": [
        "established",
        "related"
       ]
      }
     },
     {
      "accept": null
     }
    ]
   }
  },
  {
   "rule": {
    "family": "ip",
    "table": "anatomy",
    "chain": "nm_forward",
    "handle": 6,
    "comment": "10.88.0.0/24",
    "expr": [
     {
      "match": {
       "op": "==",
       "left": {
        "payload": {
         "protocol": "ip",
         "field": "saddr"
        }
       },
       "right": {
        "prefix": {
         "addr": "10.88.0.0",
         "len": 24
        }
       }
      }
     },
     {
      "match": {
       "op": "==",
       "left": {
        "meta": {
         "key": "oifname"
        }
       },
       "right": "host0"
      }
     },
     {
      "accept": null
     }
    ]
   }
  },
  {
   "rule": {
    "family": "ip",
    "table": "anatomy",
    "chain": "nm_forward",
    "handle": 7,
    "comment": "10.88.0.0/24",
    "expr": [
     {
      "match": {
       "op": "==",
       "left": {
        "payload": {
         "protocol": "ip",
         "field": "daddr"
        }
       },
       "right": {
        "prefix": {
         "addr": "10.88.0.0",
         "len": 24
        }
       }
      }
     },
     {
      "match": {
       "op": "in",
       "left": {
        "ct": {
         "key": "status"
        }
       },
       "right": "dnat"
      }
     },
     {
      "accept": null
     }
    ]
   }
  },
  {
   "rule": {
    "family": "ip",
    "table": "anatomy",
    "chain": "nm_forward",
    "handle": 8,
    "comment": "10.88.0.0/24",
    "expr": [
     {
      "match": {
       "op": "==",
       "left": {
        "payload": {
         "protocol": "ip",
         "field": "saddr"
        }
       },
       "right": {
        "prefix": {
         "addr": "10.89.0.0",
         "len": 24
        }
       }
      }
     },
     {
      "match": {
       "op": "==",
       "left": {
        "payload": {
         "protocol": "ip",
         "field": "daddr"
        }
       },
       "right": {
        "prefix": {
         "addr": "10.88.0.0",
         "len": 24
        }
       }
      }
     },
     {
      "accept": null
     }
    ]
   }
  },
  {
   "rule": {
    "family": "ip",
    "table": "anatomy",
    "chain": "nm_forward",
    "handle": 9,
    "comment": "10.88.0.0/24",
    "expr": [
     {
      "match": {
       "op": "==",
       "left": {
        "payload": {
         "protocol": "ip",
         "field": "saddr"
        }
       },
       "right": {
        "prefix": {
         "addr": "10.88.0.0",
         "len": 24
        }
       }
      }
     },
     {
      "match": {
       "op": "==",
       "left": {
        "payload": {
         "protocol": "ip",
         "field": "daddr"
        }
       },
       "right": {
        "prefix": {
         "addr": "10.88.0.0",
         "len": 24
        }
       }
      }
     },
     {
      "accept": null
     }
    ]
   }
  },
  {
   "rule": {
    "family": "ip",
    "table": "anatomy",
    "chain": "nm_forward",
    "handle": 10,
    "comment": "10.88.0.0/24",
    "expr": [
     {
      "match": {
       "op": "==",
       "left": {
        "payload": {
         "protocol": "ip",
         "field": "daddr"
        }
       },
       "right": {
        "prefix": {
         "addr": "10.88.0.0",
         "len": 24
        }
       }
      }
     },
     {
      "drop": null
     }
    ]
   }
  },
  {
   "rule": {
    "family": "ip",
    "table": "anatomy",
    "chain": "nm_forward",
    "handle": 11,
    "comment": "10.89.0.0/24",
    "expr": [
     {
      "match": {
       "op": "==",
       "left": {
        "payload": {
         "protocol": "ip",
         "field": "daddr"
        }
       },
       "right": {
        "prefix": {
         "addr": "10.89.0.0",
         "len": 24
        }
       }
      }
     },
     {
      "match": {
       "op": "in",
       "left": {
        "ct": {
         "key": "state"
        }
       },
       "right": [
        "established",
        "related"
       ]
      }
     },
     {
      "accept": null
     }
    ]
   }
  },
  {
   "rule": {
    "family": "ip",
    "table": "anatomy",
    "chain": "nm_forward",
    "handle": 12,
    "comment": "10.89.0.0/24",
    "expr": [
     {
      "match": {
       "op": "==",
       "left": {
        "payload": {
         "protocol": "ip",
         "field": "saddr"
        }
       },
       "right": {
        "prefix": {
         "addr": "10.89.0.0",
         "len": 24
        }
       }
      }
     },
     {
      "match": {
       "op": "==",
       "left": {
        "meta": {
         "key": "oifname"
        }
       },
       "right": "host0"
      }
     },
     {
      "accept": null
     }
    ]
   }
  },
  {
   "rule": {
    "family": "ip",
    "table": "anatomy",
    "chain": "nm_forward",
    "handle": 13,
    "comment": "10.89.0.0/24",
    "expr": [
     {
      "match": {
       "op": "==",
       "left": {
        "payload": {
         "protocol": "ip",
         "field": "daddr"
        }
       },
       "right": {
        "prefix": {
         "addr": "10.89.0.0",
         "len": 24
        }
       }
      }
     },
     {
      "match": {
       "op": "in",
       "left": {
        "ct": {
         "key": "status"
        }
       },
       "right": "dnat"
      }
     },
     {
      "accept": null
     }
    ]
   }
  },
  {
   "rule": {
    "family": "ip",
    "table": "anatomy",
    "chain": "nm_forward",
    "handle": 14,
    "comment": "10.89.0.0/24",
    "expr": [
     {
      "match": {
       "op": "==",
       "left": {
        "payload": {
         "protocol": "ip",
         "field": "saddr"
        }
       },
       "right": {
        "prefix": {
         "addr": "10.88.0.0",
         "len": 24
        }
       }
      }
     },
     {
      "match": {
       "op": "==",
       "left": {
        "payload": {
         "protocol": "ip",
         "field": "daddr"
        }
       },
       "right": {
        "prefix": {
         "addr": "10.89.0.0",
         "len": 24
        }
       }
      }
     },
     {
      "accept": null
     }
    ]
   }
  },
  {
   "rule": {
    "family": "ip",
    "table": "anatomy",
    "chain": "nm_forward",
    "handle": 15,
    "comment": "10.89.0.0/24",
    "expr": [
     {
      "match": {
       "op": "==",
       "left": {
        "payload": {
         "protocol": "ip",
         "field": "saddr"
        }
       },
       "right": {
        "prefix": {
         "addr": "10.89.0.0",
         "len": 24
        }
       }
      }
     },
     {
      "match": {
       "op": "==",
       "left": {
        "payload": {
         "protocol": "ip",
         "field": "daddr"
        }
       },
       "right": {
        "prefix": {
         "addr": "10.89.0.0",
         "len": 24
        }
       }
      }
     },
     {
      "accept": null
     }
    ]
   }
  },
  {
   "rule": {
    "family": "ip",
    "table": "anatomy",
    "chain": "nm_forward",
    "handle": 16,
    "comment": "10.89.0.0/24",
    "expr": [
     {
      "match": {
       "op": "==",
       "left": {
        "payload": {
         "protocol": "ip",
         "field": "daddr"
        }
       },
       "right": {
        "prefix": {
         "addr": "10.89.0.0",
         "len": 24
        }
       }
      }
     },
     {
      "drop": null
     }
    ]
   }
  },
  {
   "rule": {
    "family": "ip",
    "table": "anatomy",
    "chain": "nm_postrouting",
    "handle": 17,
    "comment": "10.88.0.0/24",
    "expr": [
     {
      "match": {
       "op": "==",
       "left": {
        "payload": {
         "protocol": "ip",
         "field": "saddr"
        }
       },
       "right": {
        "prefix": {
         "addr": "10.88.0.0",
         "len": 24
        }
       }
      }
     },
     {
      "match": {
       "op": "==",
       "left": {
        "meta": {
         "key": "oifname"
        }
       },
       "right": "host0"
      }
     },
     {
      "masquerade": null
     }
    ]
   }
  },
  {
   "rule": {
    "family": "ip",
    "table": "anatomy",
    "chain": "nm_postrouting",
    "handle": 18,
    "comment": "10.88.0.0/24",
    "expr": [
     {
      "match": {
       "op": "==",
       "left": {
        "payload": {
         "protocol": "ip",
         "field": "saddr"
        }
       },
       "right": {
        "prefix": {
         "addr": "10.88.0.0",
         "len": 24
        }
       }
      }
     },
     {
      "match": {
       "op": "==",
       "left": {
        "payload": {
         "protocol": "ip",
         "field": "daddr"
        }
       },
       "right": {
        "prefix": {
         "addr": "10.88.0.0",
         "len": 24
        }
       }
      }
     },
     {
      "match": {
       "op": "in",
       "left": {
        "ct": {
         "key": "status"
        }
       },
       "right": "dnat"
      }
     },
     {
      "masquerade": null
     }
    ]
   }
  },
  {
   "rule": {
    "family": "ip",
    "table": "anatomy",
    "chain": "nm_postrouting",
    "handle": 19,
    "comment": "10.89.0.0/24",
    "expr": [
     {
      "match": {
       "op": "==",
       "left": {
        "payload": {
         "protocol": "ip",
         "field": "saddr"
        }
       },
       "right": {
        "prefix": {
         "addr": "10.89.0.0",
         "len": 24
        }
       }
      }
     },
     {
      "match": {
       "op": "==",
       "left": {
        "meta": {
         "key": "oifname"
        }
       },
       "right": "host0"
      }
     },
     {
      "masquerade": null
     }
    ]
   }
  },
  {
   "rule": {
    "family": "ip",
    "table": "anatomy",
    "chain": "nm_postrouting",
    "handle": 20,
    "comment": "10.89.0.0/24",
    "expr": [
     {
      "match": {
       "op": "==",
       "left": {
        "payload": {
         "protocol": "ip",
         "field": "saddr"
        }
       },
       "right": {
        "prefix": {
         "addr": "10.89.0.0",
         "len": 24
        }
       }
      }
     },
     {
      "match": {
       "op": "==",
       "left": {
        "payload": {
         "protocol": "ip",
         "field": "daddr"
        }
       },
       "right": {
        "prefix": {
         "addr": "10.89.0.0",
         "len": 24
        }
       }
      }
     },
     {
      "match": {
       "op": "in",
       "left": {
        "ct": {
         "key": "status"
        }
       },
       "right": "dnat"
      }
     },
     {
      "masquerade": null
     }
    ]
   }
  },
  {
   "rule": {
    "family": "ip",
    "table": "anatomy",
    "chain": "pf_output",
    "handle": 35,
    "expr": [
     {
      "vmap": {
       "key": {
        "concat": [
         {
          "payload": {
           "protocol": "ip",
           "field": "daddr"
          }
         },
         {
          "meta": {
           "key": "l4proto"
          }
         },
         {
          "payload": {
           "protocol": "th",
           "field": "dport"
          }
         }
        ]
       },
       "data": "@pf_addr"
      }
     }
    ]
   }
  },
  {
   "rule": {
    "family": "ip",
    "table": "anatomy",
    "chain": "pf_output",
    "handle": 36,
    "expr": [
     {
      "match": {
       "op": "==",
       "left": {
        "fib": {
         "result": "type",
         "flags": [
          "daddr"
         ]
        }
       },
       "right": "local"
      }
     },
     {
      "vmap": {
       "key": {
        "concat": [
         {
          "meta": {
           "key": "l4proto"
          }
         },
         {
          "payload": {
           "protocol": "th",
           "field": "dport"
          }
         }
        ]
       },
       "data": "@pf_any"
      }
     }
    ]
   }
  },
  {
   "rule": {
    "family": "ip",
    "table": "anatomy",
    "chain": "pf_postrouting",
    "handle": 37,
    "expr": [
     {
      "match": {
       "op": "in",
       "left": {
        "ct": {
         "key": "status"
        }
       },
       "right": "dnat"
      }
     },
     {
      "match": {
       "op": "==",
       "left": {
        "fib": {
         "result": "type",
         "flags": [
          "saddr"
         ]
        }
       },
       "right": "local"
      }
     },
     {
      "masquerade": null
     }
    ]
   }
  },
  {
   "rule": {
    "family": "ip",
    "table": "anatomy",
    "chain": "pf_prerouting",
    "handle": 38,
    "expr": [
     {
      "match": {
       "op": "==",
       "left": {
        "payload": {
         "protocol": "ip",
         "field": "daddr"
        }
       },
       "right": {
        "prefix": {
         "addr": "127.0.0.0",
         "len": 8
        }
       }
      }
     },
     {
      "return": null
     }
    ]
   }
  },
  {
   "rule": {
    "family": "ip",
    "table": "anatomy",
    "chain": "pf_prerouting",
    "handle": 39,
    "expr": [
     {
      "vmap": {
       "key": {
        "concat": [
         {
          "payload": {
           "protocol": "ip",
           "field": "daddr"
          }
         },
         {
          "meta": {
           "key": "l4proto"
          }
         },
         {
          "payload": {
           "protocol": "th",
           "field": "dport"
          }
         }
        ]
       },
       "data": "@pf_addr"
      }
     }
    ]
   }
  },
  {
   "rule": {
    "family": "ip",
    "table": "anatomy",
    "chain": "pf_prerouting",
    "handle": 40,
    "expr": [
     {
      "match": {
       "op": "==",
       "left": {
        "fib": {
         "result": "type",
         "flags": [
          "daddr"
         ]
        }
       },
       "right": "local"
      }
     },
     {
      "vmap": {
       "key": {
        "concat": [
         {
          "meta": {
           "key": "l4proto"
          }
         },
         {
          "payload": {
           "protocol": "th",
           "field": "dport"
          }
         }
        ]
       },
       "data": "@pf_any"
      }
     }
    ]
   }
  },
  {
   "rule": {
    "family": "ip",
    "table": "anatomy",
    "chain": "pf_tcp_0_0_0_0_80",
    "handle": 29,
    "comment": "web",
    "expr": [
     {
      "match": {
       "op": "==",
       "left": {
        "meta": {
         "key": "l4proto"
        }
       },
       "right": "tcp"
      }
     },
     {
      "dnat": {
       "addr": "10.88.0.3",
       "port": 8080
      }
     }
    ]
   }
  },
  {
   "rule": {
    "family": "ip",
    "table": "anatomy",
    "chain": "pf_tcp_0_0_0_0_9000_9001",
    "handle": 31,
    "expr": [
     {
      "match": {
       "op": "!=",
       "left": {
        "payload": {
         "protocol": "ip",
         "field": "saddr"
        }
       },
       "right": {
        "set": [
         {
          "prefix": {
           "addr": "10.0.0.0",
           "len": 8
          }
         },
         {
          "prefix": {
           "addr": "198.18.0.0",
           "len": 24
          }
         }
        ]
       }
      }
     },
     {
      "return": null
     }
    ]
   }
  },
  {
   "rule": {
    "family": "ip",
    "table": "anatomy",
    "chain": "pf_tcp_0_0_0_0_9000_9001",
    "handle": 32,
    "expr": [
     {
      "match": {
       "op": "==",
       "left": {
        "meta": {
         "key": "l4proto"
        }
       },
       "right": "tcp"
      }
     },
     {
      "dnat": {
       "addr": "10.88.0.4"
      }
     }
    ]
   }
  },
  {
   "rule": {
    "family": "ip",
    "table": "anatomy",
    "chain": "pf_udp_127_0_0_1_5000_5001",
    "handle": 33,
    "expr": [
     {
      "match": {
       "op": "==",
       "left": {
        "payload": {
         "protocol": "udp",
         "field": "dport"
        }
       },
       "right": 5000
      }
     },
     {
      "dnat": {
       "addr": "10.88.0.3",
       "port": 6000
      }
     }
    ]
   }
  },
  {
   "rule": {
    "family": "ip",
    "table": "anatomy",
    "chain": "pf_udp_127_0_0_1_5000_5001",
    "handle": 34,
    "expr": [
     {
      "match": {
       "op": "==",
       "left": {
        "payload": {
         "protocol": "udp",
         "field": "dport"
        }
       },
       "right": 5001
      }
     },
     {
      "dnat": {
       "addr": "10.88.0.3",
       "port": 6001
      }
     }
    ]
   }
  }
 ]
}
"""

# iptables-save
IPTABLES_SAVE = r"""# Generated by iptables-save v1.8.9 (nf_tables) on Sun Nov 29 04:52:17 2026
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:ANATOMY-NM-FORWARD - [0:0]
:ANATOMY-PF-FORWARD - [0:0]
-A FORWARD -m comment --comment "anatomy.containers" -j ANATOMY-PF-FORWARD
-A FORWARD -m comment --comment "anatomy.containers" -j ANATOMY-NM-FORWARD
-A FORWARD -s 10.99.0.0/24 -j ACCEPT
-A ANATOMY-NM-FORWARD -s 10.89.0.0/24 -d 10.88.0.0/24 -m comment --comment "10.89.0.0/24" -j DROP
-A ANATOMY-NM-FORWARD -s 10.88.0.0/24 -d 10.89.0.0/24 -m comment --comment "10.89.0.0/24" -j DROP
-A ANATOMY-NM-FORWARD -d 10.88.0.0/24 -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment "10.88.0.0/24" -j ACCEPT
-A ANATOMY-NM-FORWARD -s 10.88.0.0/24 -o host0 -m comment --comment "10.88.0.0/24" -j ACCEPT
-A ANATOMY-NM-FORWARD -d 10.88.0.0/24 -m conntrack --ctstate DNAT -m comment --comment "10.88.0.0/24" -j ACCEPT
-A ANATOMY-NM-FORWARD -s 10.89.0.0/24 -d 10.88.0.0/24 -m comment --comment "10.88.0.0/24" -j ACCEPT
-A ANATOMY-NM-FORWARD -s 10.88.0.0/24 -d 10.88.0.0/24 -m comment --comment "10.88.0.0/24" -j ACCEPT
-A ANATOMY-NM-FORWARD -d 10.88.0.0/24 -m comment --comment "10.88.0.0/24" -j DROP
-A ANATOMY-NM-FORWARD -d 10.89.0.0/24 -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment "10.89.0.0/24" -j ACCEPT
-A ANATOMY-NM-FORWARD -s 10.89.0.0/24 -o host0 -m comment --comment "10.89.0.0/24" -j ACCEPT
-A ANATOMY-NM-FORWARD -d 10.89.0.0/24 -m conntrack --ctstate DNAT -m comment --comment "10.89.0.0/24" -j ACCEPT
-A ANATOMY-NM-FORWARD -s 10.88.0.0/24 -d 10.89.0.0/24 -m comment --comment "10.89.0.0/24" -j ACCEPT
-A ANATOMY-NM-FORWARD -s 10.89.0.0/24 -d 10.89.0.0/24 -m comment --comment "10.89.0.0/24" -j ACCEPT
-A ANATOMY-NM-FORWARD -d 10.89.0.0/24 -m comment --comment "10.89.0.0/24" -j DROP
-A ANATOMY-PF-FORWARD -d 10.88.0.3/32 -p tcp -m tcp --dport 8080 -m conntrack --ctstate DNAT -m comment --comment "pf tcp 0.0.0.0 80" -j ACCEPT
-A ANATOMY-PF-FORWARD -d 10.88.0.4/32 -p tcp -m tcp --dport 9000:9001 -m conntrack --ctstate DNAT -m comment --comment "pf tcp 0.0.0.0 9000-9001" -j ACCEPT
-A ANATOMY-PF-FORWARD -d 10.88.0.3/32 -p udp -m udp --dport 6000:6001 -m conntrack --ctstate DNAT -m comment --comment "pf udp 127.0.0.1 5000-5001" -j ACCEPT
COMMIT
# Completed on Sun Nov 29 04:52:17 2026
# Generated by iptables-save v1.8.9 (nf_tables) on Sun Nov 29 04:52:17 2026
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:ANATOMY-NM-POSTROUTING - [0:0]
:ANATOMY-PF-DNAT - [0:0]
:ANATOMY-PF-OUTPUT - [0:0]
:ANATOMY-PF-POSTROUTING - [0:0]
:ANATOMY-PF-PREROUTING - [0:0]
-A PREROUTING -m comment --comment "anatomy.containers" -j ANATOMY-PF-PREROUTING
-A OUTPUT -m comment --comment "anatomy.containers" -j ANATOMY-PF-OUTPUT
-A POSTROUTING -m comment --comment "anatomy.containers" -j ANATOMY-PF-POSTROUTING
-A POSTROUTING -m comment --comment "anatomy.containers" -j ANATOMY-NM-POSTROUTING
-A POSTROUTING -s 10.99.0.0/24 -j MASQUERADE
-A ANATOMY-NM-POSTROUTING -s 10.88.0.0/24 -o host0 -m comment --comment "10.88.0.0/24" -j MASQUERADE
-A ANATOMY-NM-POSTROUTING -s 10.88.0.0/24 -d 10.88.0.0/24 -m conntrack --ctstate DNAT -m comment --comment "10.88.0.0/24" -j MASQUERADE
-A ANATOMY-NM-POSTROUTING -s 10.89.0.0/24 -o host0 -m comment --comment "10.89.0.0/24" -j MASQUERADE
-A ANATOMY-NM-POSTROUTING -s 10.89.0.0/24 -d 10.89.0.0/24 -m conntrack --ctstate DNAT -m comment --comment "10.89.0.0/24" -j MASQUERADE
-A ANATOMY-PF-DNAT -p tcp -m tcp --dport 80 -m comment --comment "pf tcp 0.0.0.0 80: web" -j DNAT --to-destination 10.88.0.3:8080
-A ANATOMY-PF-DNAT -s 10.0.0.0/8 -p tcp -m tcp --dport 9000:9001 -m comment --comment "pf tcp 0.0.0.0 9000-9001" -j DNAT --to-destination 10.88.0.4
-A ANATOMY-PF-DNAT -s 198.18.0.0/24 -p tcp -m tcp --dport 9000:9001 -m comment --comment "pf tcp 0.0.0.0 9000-9001" -j DNAT --to-destination 10.88.0.4
-A ANATOMY-PF-DNAT -d 127.0.0.1/32 -p udp -m udp --dport 5000 -m comment --comment "pf udp 127.0.0.1 5000-5001" -j DNAT --to-destination 10.88.0.3:6000
-A ANATOMY-PF-DNAT -d 127.0.0.1/32 -p udp -m udp --dport 5001 -m comment --comment "pf udp 127.0.0.1 5000-5001" -j DNAT --to-destination 10.88.0.3:6001
-A ANATOMY-PF-OUTPUT -m addrtype --dst-type LOCAL -j ANATOMY-PF-DNAT
-A ANATOMY-PF-POSTROUTING -m conntrack --ctstate DNAT -m addrtype --src-type LOCAL -j MASQUERADE
-A ANATOMY-PF-PREROUTING -d 127.0.0.0/8 -j RETURN
-A ANATOMY-PF-PREROUTING -m addrtype --dst-type LOCAL -j ANATOMY-PF-DNAT
COMMIT
# Completed on Sun Nov 29 04:52:17 2026
"""
