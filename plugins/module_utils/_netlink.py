# -*- coding: utf-8 -*-
# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Network namespaces, links, addresses and routes through netlink, in-process.

This is a private module_util: its API may change without notice.

:class:`Netlink` is the only code of the collection that talks to the kernel's
network stack. It works with the pyroute2 Debian 12 ships (0.7.x) and with
0.9.x, and it never forks: pyroute2's ``IPRoute(netns=...)`` and
``pyroute2.netns.create`` fork a helper process per namespace, so instead

* a netlink socket for a namespace is opened while the current thread is in that
  namespace (``setns(2)``), and the thread returns to its own namespace at once
  (a socket stays in the namespace it was created in);
* a namespace is created as ``ip netns add`` does: ``unshare(CLONE_NEWNET)`` on
  the current thread, a bind mount of ``/proc/thread-self/ns/net`` onto
  ``/run/netns/NAME`` (``/run/netns`` made a shared mount first), and back;
  it is deleted by unmounting and unlinking that file.

Reads (link, address and route dumps, a link by name, a namespace's id) do not go
through pyroute2: pyroute2 decodes every attribute of every message into objects,
which was most of a run's time. A plain netlink socket (:class:`NetlinkSocket`)
asks for them and :func:`parse_link`, :func:`parse_address` and :func:`parse_route`
decode only the few attributes used here. Writes go through pyroute2, one request
per change, and a change the last dump shows as done already is not sent; pyroute2
is imported on the first write, so a run with nothing to change never loads it.

The validation helpers at the end (names, CIDRs, MACs, MTUs) are pure functions,
shared by the resources in ``_netlink_resources``.
"""

from __future__ import annotations

import errno
import ipaddress
import os
import re
import socket
import struct
from contextlib import contextmanager
from importlib.util import find_spec

# pyroute2 is imported on the first write (_iproute): the import alone takes about 0.2 s, and a run
# that changes nothing never writes.
IPRoute = None
HAS_PYROUTE2 = find_spec('pyroute2') is not None
PYROUTE2_IMPORT_ERROR = None if HAS_PYROUTE2 else "ModuleNotFoundError: No module named 'pyroute2'"

from ansible_collections.anatomy.containers.plugins.module_utils._resource import OWNER_MARK, ResourceError
from ansible_collections.anatomy.containers.plugins.module_utils._linux import (
    CLONE_NEWNET, MNT_DETACH, MS_BIND, MS_REC, MS_SHARED, ifname_problem, mount, setns, umount2, unshare,
)

NETNS_RUN_DIR = '/run/netns'

#: The alias (IFLA_IFALIAS) written on each kind of link this collection creates. Ownership is
#: "the alias starts with OWNER_MARK"; the suffix says which module made it.
MARK_BRIDGE = OWNER_MARK + ':bridge'
MARK_VETH = OWNER_MARK + ':veth'
MARK_VETH_PEER = OWNER_MARK + ':veth-peer'
#: The alias of the loopback link of a network namespace this collection created.
MARK_NETNS = OWNER_MARK + ':netns'

#: The routing protocol number (rtm_protocol) of the routes this collection adds
#: (``ip route show proto 166``). Routes of any other protocol are never touched.
ROUTE_PROTO = 166
MAIN_TABLE = 254

AF_INET = 2
AF_INET6 = 10
IFF_UP = 0x1
IFA_F_NODAD = 0x02
RT_SCOPE_UNIVERSE = 0
RT_SCOPE_LINK = 253


def owned(alias) -> bool:
    return bool(alias) and alias.startswith(OWNER_MARK)


def _iproute():
    """pyroute2's IPRoute class, imported the first time it is needed."""
    global IPRoute
    if IPRoute is None:
        from pyroute2 import IPRoute as iproute  # pylint: disable=import-outside-toplevel
        IPRoute = iproute
    return IPRoute


def _ipr_takes_groups(iproute) -> bool:
    import inspect  # pylint: disable=import-outside-toplevel
    try:
        return 'groups' in inspect.signature(iproute.__init__).parameters
    except (TypeError, ValueError):
        return False


# -- reads: a plain netlink socket and the few attributes used ---------------------------------
NETLINK_ROUTE = 0
SOL_NETLINK = 270
NETLINK_GET_STRICT_CHK = 12
NLM_F_REQUEST = 0x1
NLM_F_ACK = 0x4
NLM_F_DUMP = 0x300
NLMSG_ERROR = 2
NLMSG_DONE = 3
RTM_GETLINK = 18
RTM_GETADDR = 22
RTM_GETROUTE = 26
RTM_GETNSID = 90

IFLA_ADDRESS = 1
IFLA_IFNAME = 3
IFLA_MTU = 4
IFLA_LINK = 5
IFLA_MASTER = 10
IFLA_LINKINFO = 18
IFLA_IFALIAS = 20
IFLA_LINK_NETNSID = 37
IFLA_INFO_KIND = 1
IFLA_INFO_DATA = 2
IFLA_BR_STP_STATE = 5
IFA_ADDRESS = 1
IFA_LOCAL = 2
RTA_DST = 1
RTA_OIF = 4
RTA_GATEWAY = 5
RTA_TABLE = 15
NETNSA_NSID = 1
NETNSA_FD = 3

_NLMSGHDR = struct.Struct('=IHHII')     # length, type, flags, seq, pid
_NLATTR = struct.Struct('=HH')          # length, type
_IFINFOMSG = struct.Struct('=BxHiII')   # family, type, index, flags, change
_IFADDRMSG = struct.Struct('=BBBBI')    # family, prefixlen, flags, scope, index
_RTMSG = struct.Struct('=BBBBBBBBI')    # family, dst_len, src_len, tos, table, protocol, scope, type, flags
_RTGENMSG = struct.Struct('=B3x')       # family, padded to 4 bytes
_U32 = struct.Struct('=I')
_S32 = struct.Struct('=i')
_RECV_SIZE = 1 << 16                    # a kernel dump part is at most 32 KiB

_LINK_ATTRS = frozenset((IFLA_ADDRESS, IFLA_IFNAME, IFLA_MTU, IFLA_LINK, IFLA_MASTER, IFLA_LINKINFO, IFLA_IFALIAS,
                         IFLA_LINK_NETNSID))


def nl_attrs(data: bytes, offset: int = 0, wanted=None) -> dict:
    """{type: payload} of the netlink attributes in data from offset on (only the wanted types, if given)."""
    attrs = {}
    end = len(data)
    while offset + 4 <= end:
        length, kind = _NLATTR.unpack_from(data, offset)
        if length < 4:
            break
        kind &= 0x3fff  # without NLA_F_NESTED and NLA_F_NET_BYTEORDER
        if wanted is None or kind in wanted:
            attrs[kind] = data[offset + 4:offset + length]
        offset += (length + 3) & ~3
    return attrs


def nl_attr(kind: int, payload: bytes) -> bytes:
    length = 4 + len(payload)
    return _NLATTR.pack(length, kind) + payload + b'\0' * (-length % 4)


def _string(value):
    return None if value is None else value.split(b'\0', 1)[0].decode('utf-8', 'replace')


def _u32(value):
    return None if value is None else _U32.unpack_from(value)[0]


def parse_link(payload: bytes) -> dict:
    """A link from an RTM_NEWLINK message (after the netlink header), as :meth:`Netlink.links` returns it."""
    _family, _type, index, flags, _change = _IFINFOMSG.unpack_from(payload)
    attrs = nl_attrs(payload, _IFINFOMSG.size, _LINK_ATTRS)
    kind = stp = None
    if IFLA_LINKINFO in attrs:
        info = nl_attrs(attrs[IFLA_LINKINFO])
        kind = _string(info.get(IFLA_INFO_KIND)) or None
        if kind == 'bridge' and IFLA_INFO_DATA in info:
            stp = _u32(nl_attrs(info[IFLA_INFO_DATA]).get(IFLA_BR_STP_STATE))
    mac = attrs.get(IFLA_ADDRESS)
    nsid = attrs.get(IFLA_LINK_NETNSID)
    return {
        'index': index,
        'name': _string(attrs.get(IFLA_IFNAME)),
        'kind': kind,
        'alias': _string(attrs.get(IFLA_IFALIAS)) or None,
        'mtu': _u32(attrs.get(IFLA_MTU)),
        'up': bool(flags & IFF_UP),
        'master': _u32(attrs.get(IFLA_MASTER)) or None,
        'mac': ':'.join('%02x' % octet for octet in mac) if mac else None,
        'peer_index': _u32(attrs.get(IFLA_LINK)),
        'peer_nsid': None if nsid is None else _S32.unpack_from(nsid)[0],
        'stp': None if stp is None else bool(stp),
    }


def parse_address(payload: bytes):
    """{'index', 'cidr'} from an RTM_NEWADDR message; None for IPv6 link-local (the kernel's own) or no address."""
    family, prefixlen, _flags, _scope, index = _IFADDRMSG.unpack_from(payload)
    attrs = nl_attrs(payload, _IFADDRMSG.size, (IFA_ADDRESS, IFA_LOCAL))
    address = attrs.get(IFA_LOCAL) or attrs.get(IFA_ADDRESS)
    if not address or family not in (AF_INET, AF_INET6):
        return None
    iface = (ipaddress.IPv4Interface if family == AF_INET else ipaddress.IPv6Interface)((address, prefixlen))
    if iface.version == 6 and iface.ip.is_link_local:
        return None
    return {'index': index, 'cidr': str(iface)}


def parse_route(payload: bytes) -> dict:
    """{'family', 'table', 'proto', 'oif', 'dst', 'via'} from an RTM_NEWROUTE message."""
    family, dst_len, _src_len, _tos, table, proto, _scope, _type, _flags = _RTMSG.unpack_from(payload)
    attrs = nl_attrs(payload, _RTMSG.size, (RTA_DST, RTA_OIF, RTA_GATEWAY, RTA_TABLE))
    route = {'family': family, 'table': _u32(attrs.get(RTA_TABLE)) or table, 'proto': proto,
             'oif': _u32(attrs.get(RTA_OIF)), 'dst': None, 'via': None}
    if family in (AF_INET, AF_INET6):
        size = 4 if family == AF_INET else 16
        network = ipaddress.IPv4Network if family == AF_INET else ipaddress.IPv6Network
        route['dst'] = str(network((attrs.get(RTA_DST) or bytes(size), dst_len)))
        if attrs.get(RTA_GATEWAY):
            route['via'] = str(ipaddress.ip_address(attrs[RTA_GATEWAY]))
    return route


class NetlinkSocket:
    """A NETLINK_ROUTE socket for reads, in the namespace it was opened in: requests out, payloads back."""

    def __init__(self, sock=None):
        if sock is None:
            sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, NETLINK_ROUTE)
            try:
                # Linux 4.20 and later filter route dumps by table and protocol in the kernel;
                # routes() filters again, so older kernels give the same answer.
                sock.setsockopt(SOL_NETLINK, NETLINK_GET_STRICT_CHK, 1)
            except OSError:
                pass
            sock.bind((0, 0))
        self._sock = sock
        self._seq = 0

    def close(self) -> None:
        self._sock.close()

    def request(self, msg_type: int, body: bytes, dump: bool = False) -> list:
        """The payloads of the replies to one request; an error reply raises OSError."""
        self._seq += 1
        flags = NLM_F_REQUEST | (NLM_F_DUMP if dump else NLM_F_ACK)
        self._sock.send(_NLMSGHDR.pack(_NLMSGHDR.size + len(body), msg_type, flags, self._seq, 0) + body)
        replies = []
        while True:
            data = self._sock.recv(_RECV_SIZE)
            offset = 0
            while offset + _NLMSGHDR.size <= len(data):
                length, kind, _flags, seq, _pid = _NLMSGHDR.unpack_from(data, offset)
                if length < _NLMSGHDR.size:
                    raise OSError(errno.EPROTO, 'malformed netlink reply')
                payload = data[offset + _NLMSGHDR.size:offset + length]
                offset += (length + 3) & ~3
                if seq != self._seq:
                    continue
                if kind in (NLMSG_ERROR, NLMSG_DONE):
                    code = _S32.unpack_from(payload)[0] if len(payload) >= 4 else 0
                    if code < 0:
                        raise OSError(-code, os.strerror(-code))
                    return replies
                replies.append(payload)

    def links(self) -> list:
        return [parse_link(p) for p in self.request(RTM_GETLINK, _IFINFOMSG.pack(0, 0, 0, 0, 0), dump=True)]

    def link(self, name: str):
        """One link by name, None if there is none."""
        try:
            replies = self.request(RTM_GETLINK, _IFINFOMSG.pack(0, 0, 0, 0, 0)
                                   + nl_attr(IFLA_IFNAME, name.encode('utf-8') + b'\0'))
        except OSError as exc:
            if exc.errno == errno.ENODEV:
                return None
            raise
        return parse_link(replies[0]) if replies else None

    def addresses(self) -> list:
        replies = self.request(RTM_GETADDR, _IFADDRMSG.pack(0, 0, 0, 0, 0), dump=True)
        return [address for address in map(parse_address, replies) if address is not None]

    def routes(self, family: int, table: int, proto: int) -> list:
        """The routes of one family, table and protocol (filtered here too, whatever the kernel did)."""
        replies = self.request(RTM_GETROUTE, _RTMSG.pack(family, 0, 0, 0, table, proto, 0, 0, 0), dump=True)
        return [route for route in map(parse_route, replies)
                if route['family'] == family and route['table'] == table and route['proto'] == proto]

    def nsid(self, fd: int):
        """The id our namespace has for the namespace of fd, None if it has none."""
        replies = self.request(RTM_GETNSID, _RTGENMSG.pack(0) + nl_attr(NETNSA_FD, _U32.pack(fd)))
        for payload in replies:
            nsid = nl_attrs(payload, _RTGENMSG.size).get(NETNSA_NSID)
            if nsid is not None and _S32.unpack_from(nsid)[0] >= 0:
                return _S32.unpack_from(nsid)[0]
        return None


def unicast_routes(family: int = AF_INET, table: int = MAIN_TABLE, sock=None) -> list:
    """[{'dst', 'metric', 'dev'}]: a table's unicast routes with one output interface, of every protocol, in one dump.

    For lookups where ``ip route`` would be run: the default route's interface, the interface of the
    longest-prefix route to an address. Multipath and blackhole/unreachable routes have no single
    interface and are left out. Interface names come from if_indextoname(3), in our namespace.
    """
    rta_priority, rtn_unicast = 6, 1
    own = sock is None
    sock = NetlinkSocket() if own else sock
    try:
        replies = sock.request(RTM_GETROUTE, _RTMSG.pack(family, 0, 0, 0, table, 0, 0, 0, 0), dump=True)
    finally:
        if own:
            sock.close()
    routes, names = [], {}
    for payload in replies:
        route = parse_route(payload)
        if route['family'] != family or route['table'] != table or not route['oif'] \
                or _RTMSG.unpack_from(payload)[7] != rtn_unicast:
            continue
        if route['oif'] not in names:
            try:
                names[route['oif']] = socket.if_indextoname(route['oif'])
            except OSError:  # the link went away since the dump
                names[route['oif']] = None
        if names[route['oif']]:
            metric = nl_attrs(payload, _RTMSG.size, (rta_priority,)).get(rta_priority)
            routes.append({'dst': route['dst'], 'metric': _u32(metric) or 0, 'dev': names[route['oif']]})
    return routes


class Netlink:
    """The kernel, seen through netlink. ``ns`` arguments name a namespace under /run/netns; None is our own.

    Reading methods return plain dicts; writing methods take names. Use it as a
    context manager (or call :meth:`close`): every socket is closed at the end.

    Sockets: one pair for the host namespace, one for the namespace last used (a
    read socket, and a pyroute2 socket opened on the first write there). The
    resources work through one namespace after the other, so each is entered
    once per pass.
    """

    def __init__(self):
        if not HAS_PYROUTE2:
            raise RuntimeError('pyroute2 is required')
        self._home = os.open('/proc/thread-self/ns/net', os.O_RDONLY | os.O_CLOEXEC)
        self._groups = None
        self._host = None
        self._host_sock = None
        self._cur = None
        self._cur_sock = None
        self._cur_ns = None
        self._run_dir_ready = False
        # Link dumps per namespace, until something in that namespace is written.
        self._dumps = {}

    # -- sockets ---------------------------------------------------------------
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self) -> None:
        self._drop_cur()
        for sock in (self._host, self._host_sock):
            if sock is not None:
                sock.close()
        self._host = self._host_sock = None
        if self._home is not None:
            os.close(self._home)
            self._home = None

    def _drop_cur(self) -> None:
        for sock in (self._cur, self._cur_sock):
            if sock is not None:
                sock.close()
        self._cur = self._cur_sock = self._cur_ns = None

    def _load_pyroute2(self) -> None:
        """Import pyroute2 (in our own namespace, before a socket is made in another)."""
        if self._groups is None:
            self._groups = _ipr_takes_groups(_iproute())

    def _new_ipr(self):
        """A pyroute2 socket in the namespace this thread is in; call _load_pyroute2 first."""
        # 0.9 subscribes to multicast groups by default; a command socket needs none.
        return IPRoute(groups=0) if self._groups else IPRoute()

    @contextmanager
    def _entered(self, ns: str):
        """Run the body with this thread in namespace ns; always come back."""
        fd = os.open(os.path.join(NETNS_RUN_DIR, ns), os.O_RDONLY | os.O_CLOEXEC)
        try:
            setns(fd, CLONE_NEWNET)
            try:
                yield
            finally:
                setns(self._home, CLONE_NEWNET)
        finally:
            os.close(fd)

    def _use(self, ns) -> None:
        """Make ns the namespace whose sockets are kept, closing those of the one before."""
        if self._cur_ns != ns:
            self._drop_cur()
            self._cur_ns = ns

    def _sock(self, ns) -> NetlinkSocket:
        """The read socket in ns."""
        if ns is None:
            if self._host_sock is None:
                self._host_sock = NetlinkSocket()
            return self._host_sock
        self._use(ns)
        if self._cur_sock is None:
            with self._entered(ns):
                self._cur_sock = NetlinkSocket()
        return self._cur_sock

    def _ipr(self, ns):
        """The pyroute2 socket in ns, for writes."""
        self._load_pyroute2()
        if ns is None:
            if self._host is None:
                self._host = self._new_ipr()
            return self._host
        self._use(ns)
        if self._cur is None:
            with self._entered(ns):
                self._cur = self._new_ipr()
        return self._cur

    # -- namespaces --------------------------------------------------------------
    def netns_names(self) -> list:
        try:
            return sorted(os.listdir(NETNS_RUN_DIR))
        except FileNotFoundError:
            return []

    def netns_info(self, name: str):
        """{'owned': bool, 'lo_up': bool} for a named namespace, None if it is not one (a stale file)."""
        try:
            lo = self._get(name, 'lo')
        except OSError:
            self._drop_cur()
            return None
        if lo is None:
            return {'owned': False, 'lo_up': False}
        return {'owned': lo['alias'] == MARK_NETNS, 'lo_up': lo['up']}

    def nsid_map(self) -> dict:
        """{nsid: name} of the named namespaces that have an id in ours (a veth peer's IFLA_LINK_NETNSID)."""
        found = {}
        sock = self._sock(None)
        for name in self.netns_names():
            try:
                fd = os.open(os.path.join(NETNS_RUN_DIR, name), os.O_RDONLY | os.O_CLOEXEC)
            except OSError:
                continue
            try:
                nsid = sock.nsid(fd)
            except OSError:
                nsid = None
            finally:
                os.close(fd)
            if nsid is not None:
                found[nsid] = name
        return found

    def _prepare_run_dir(self) -> None:
        """Make /run/netns a shared mount point, as `ip netns add` does, so that the namespaces
        mounted there are seen in every mount namespace."""
        if self._run_dir_ready:
            return
        os.makedirs(NETNS_RUN_DIR, mode=0o755, exist_ok=True)
        try:
            mount(None, NETNS_RUN_DIR, 'none', MS_SHARED | MS_REC)
        except OSError as exc:
            if exc.errno != errno.EINVAL:
                raise
            mount(NETNS_RUN_DIR, NETNS_RUN_DIR, 'none', MS_BIND | MS_REC)
            mount(None, NETNS_RUN_DIR, 'none', MS_SHARED | MS_REC)
        self._run_dir_ready = True

    def netns_create(self, name: str) -> None:
        """A new namespace at /run/netns/NAME, marked ours on its lo, lo up."""
        self._prepare_run_dir()
        self._load_pyroute2()
        self._dumps.pop(name, None)
        path = os.path.join(NETNS_RUN_DIR, name)
        os.close(os.open(path, os.O_RDONLY | os.O_CREAT | os.O_EXCL, 0))
        mounted = False
        try:
            unshare(CLONE_NEWNET)
            try:
                mount('/proc/thread-self/ns/net', path, 'none', MS_BIND)
                mounted = True
                # The socket is kept as the namespace's: what comes next is often in it.
                self._use(name)
                self._cur = self._new_ipr()
                self._cur.link('set', index=1, ifalias=MARK_NETNS, state='up')
            finally:
                setns(self._home, CLONE_NEWNET)
        except BaseException:
            self._drop_cur()
            if mounted:
                umount2(path, MNT_DETACH)
            os.unlink(path)
            raise

    def netns_delete(self, name: str) -> None:
        if self._cur_ns == name:
            self._drop_cur()
        self._dumps.pop(name, None)
        path = os.path.join(NETNS_RUN_DIR, name)
        try:
            umount2(path, MNT_DETACH)
        except OSError as exc:
            if exc.errno != errno.EINVAL:
                raise
        os.unlink(path)

    def set_lo_up(self, ns) -> None:
        lo = self._get(ns, 'lo')
        if lo is not None and not lo['up']:
            self._dumps.pop(ns, None)
            self._ipr(ns).link('set', index=lo['index'], state='up')

    # -- reading -------------------------------------------------------------------
    def links(self, ns=None) -> list:
        if ns not in self._dumps:
            self._dumps[ns] = self._sock(ns).links()
        return [dict(link) for link in self._dumps[ns]]

    def _get(self, ns, name):
        """One link by name: from the last dump of ns while it holds, else asked of the kernel. None if none."""
        if ns in self._dumps:
            for link in self._dumps[ns]:
                if link['name'] == name:
                    return dict(link)
            return None
        return self._sock(ns).link(name)

    def _index(self, ns, name) -> int:
        link = self._get(ns, name)
        if link is None:
            raise OSError(errno.ENODEV, 'no link %r in %s' % (name, _where(ns)))
        return link['index']

    def peer_of(self, link: dict, nsids: dict):
        """(namespace, link) of a veth's peer, or None when its namespace has no name we know."""
        if link.get('peer_nsid') is None:
            ns = None
        else:
            ns = nsids.get(link['peer_nsid'])
            if ns is None:
                return None
        for candidate in self.links(ns):
            if candidate['index'] == link['peer_index']:
                return ns, candidate
        return None

    def addresses(self, ns=None) -> list:
        """[{'index', 'cidr'}] without IPv6 link-local addresses (the kernel's own)."""
        return self._sock(ns).addresses()

    def routes(self, ns=None) -> list:
        """[{'oif', 'dst', 'via'}]: the routes of ROUTE_PROTO in the main table."""
        sock = self._sock(ns)
        return [{'oif': route['oif'], 'dst': route['dst'], 'via': route['via']}
                for family in (AF_INET, AF_INET6) for route in sock.routes(family, MAIN_TABLE, ROUTE_PROTO)]

    # -- writing ---------------------------------------------------------------------
    def bridge_add(self, name: str, mtu: int, stp: bool, mac=None) -> None:
        """A bridge, up and marked; with ``mac`` its MAC is set in the request that creates it, so the kernel
        never lets it follow its ports' (a bridge with no MAC set takes the lowest of theirs)."""
        self._dumps.pop(None, None)
        ipr = self._ipr(None)
        request = {'ifname': name, 'kind': 'bridge', 'br_stp_state': 1 if stp else 0}
        if mac:
            request['address'] = mac
        ipr.link('add', **request)
        # MTU set after creation counts as set by the user: the bridge keeps it when ports join.
        ipr.link('set', index=self._index(None, name), mtu=mtu, ifalias=MARK_BRIDGE, state='up')

    def link_set(self, ns, name: str, **changes) -> None:
        """Change mtu, master (a name, or None to detach), mac, stp (bridges), alias or up on a link.

        Only what differs from the link as it is now is sent; nothing, if nothing differs.
        """
        link = self._get(ns, name)
        if link is None:
            raise OSError(errno.ENODEV, 'no link %r in %s' % (name, _where(ns)))
        request = {}
        if 'mtu' in changes and link['mtu'] != changes['mtu']:
            request['mtu'] = changes['mtu']
        if 'master' in changes:
            master = self._index(ns, changes['master']) if changes['master'] else None
            if link['master'] != master:
                request['master'] = master or 0
        if 'mac' in changes and link['mac'] != changes['mac'].lower():
            request['address'] = changes['mac']
        if 'alias' in changes and link['alias'] != changes['alias']:
            request['ifalias'] = changes['alias']
        if 'up' in changes and link['up'] != bool(changes['up']):
            request['state'] = 'up' if changes['up'] else 'down'
        stp = 'stp' in changes and link['stp'] != bool(changes['stp'])
        if not (request or stp):
            return
        self._dumps.pop(ns, None)
        ipr = self._ipr(ns)
        if stp:
            ipr.link('set', index=link['index'], kind='bridge', br_stp_state=1 if changes['stp'] else 0)
        if request:
            ipr.link('set', index=link['index'], **request)

    def link_del(self, ns, name: str) -> None:
        """Delete a link; one already gone is not an error: a veth whose peer's namespace was just deleted goes with
        it a moment later, between the read of a run and its delete."""
        link = self._get(ns, name)
        self._dumps.clear()  # a veth takes its peer along, wherever it is
        if link is None:
            return
        try:
            self._ipr(ns).link('del', index=link['index'])
        except Exception as exc:  # pylint: disable=broad-exception-caught
            if getattr(exc, 'code', None) != errno.ENODEV:
                raise

    def veth_add(self, name: str, peer: str, netns, bridge, mtu: int, peer_mac) -> None:
        """A veth pair NAME (here) and PEER (in netns) in three requests: the pair created with the host end
        attached and up, then each end marked (the kernel takes an alias only on a link that exists) and the
        peer set up in its namespace."""
        host_end = {'mtu': mtu, 'state': 'up'}
        if bridge:
            host_end['master'] = self._index(None, bridge)
        self._dumps.pop(None, None)
        self._dumps.pop(netns, None)
        ipr = self._ipr(None)
        if netns is None:
            ipr.link('add', ifname=name, kind='veth', peer={'ifname': peer}, **host_end)
        else:
            fd = os.open(os.path.join(NETNS_RUN_DIR, netns), os.O_RDONLY | os.O_CLOEXEC)
            try:
                ipr.link('add', ifname=name, kind='veth', peer={'ifname': peer, 'net_ns_fd': fd}, **host_end)
            finally:
                os.close(fd)
        ipr.link('set', index=self._index(None, name), ifalias=MARK_VETH)
        peer_end = {'mtu': mtu, 'ifalias': MARK_VETH_PEER, 'state': 'up'}
        if peer_mac:
            peer_end['address'] = peer_mac
        self._ipr(netns).link('set', index=self._index(netns, peer), **peer_end)

    def addr_add(self, ns, ifname: str, cidr: str) -> None:
        self._addr('add', ns, ifname, cidr)

    def addr_del(self, ns, ifname: str, cidr: str) -> None:
        self._addr('del', ns, ifname, cidr)

    def _addr(self, command, ns, ifname, cidr):
        iface = ipaddress.ip_interface(cidr)
        request = {'index': self._index(ns, ifname), 'address': str(iface.ip),
                   'prefixlen': iface.network.prefixlen, 'family': AF_INET6 if iface.version == 6 else AF_INET}
        if iface.version == 6 and command == 'add':
            # No duplicate address detection: the address works at once, as on a container's veth.
            request['flags'] = IFA_F_NODAD
        self._ipr(ns).addr(command, **request)

    def route_add(self, ns, ifname: str, dst: str, via) -> None:
        self._route('add', ns, ifname, dst, via)

    def route_del(self, ns, ifname: str, dst: str, via) -> None:
        self._route('del', ns, ifname, dst, via)

    def _route(self, command, ns, ifname, dst, via):
        net = ipaddress.ip_network(dst)
        request = {'family': AF_INET6 if net.version == 6 else AF_INET, 'table': MAIN_TABLE,
                   'proto': ROUTE_PROTO, 'oif': self._index(ns, ifname), 'dst_len': net.prefixlen,
                   'scope': RT_SCOPE_UNIVERSE if via else RT_SCOPE_LINK}
        if net.prefixlen:
            request['dst'] = str(net.network_address)
        if via:
            request['gateway'] = via
        self._ipr(ns).route(command, **request)


def _where(ns) -> str:
    return 'the host namespace' if ns is None else 'namespace %r' % ns


# -- validation: pure functions raising ResourceError ----------------------------------------------
def check_ifname(what: str, field: str, value) -> str:
    """A Linux interface name, by the one rule of :func:`._linux.ifname_problem`."""
    problem = ifname_problem(value)
    if problem is None:
        return value
    if not isinstance(value, str) or not value:
        raise ResourceError('%s: %s %s' % (what, field, problem), field=field)
    raise ResourceError('%s: %s %r %s' % (what, field, value, problem), field=field)


def check_netns_name(what: str, field: str, value) -> str:
    """A name under /run/netns, as `ip netns` accepts it."""
    if not isinstance(value, str) or not value:
        raise ResourceError('%s: %s must be a non-empty namespace name' % (what, field), field=field)
    if value in ('.', '..') or '/' in value or '\0' in value or len(value.encode('utf-8')) > 255:
        raise ResourceError("%s: %s %r is not a valid namespace name (no '/', not '.' or '..', at most 255 bytes)"
                            % (what, field, value), field=field)
    return value


def check_mtu(what: str, field: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 68 <= value <= 65535:
        raise ResourceError('%s: %s must be an integer from 68 to 65535, got %r' % (what, field, value), field=field)
    return value


_MAC = re.compile(r'^[0-9a-f]{2}(:[0-9a-f]{2}){5}$')


def check_mac(what: str, field: str, value) -> str:
    mac = value.lower().replace('-', ':') if isinstance(value, str) else value
    if not isinstance(mac, str) or not _MAC.match(mac):
        raise ResourceError('%s: %s %r is not a MAC address like 02:00:00:00:00:01' % (what, field, value),
                            field=field)
    if int(mac[:2], 16) & 1:
        raise ResourceError('%s: %s %r is a multicast address; a link needs a unicast MAC' % (what, field, value),
                            field=field)
    if mac == '00:00:00:00:00:00':
        raise ResourceError('%s: %s must not be all zeros' % (what, field), field=field)
    return mac


def check_interface_address(what: str, field: str, value) -> str:
    """An address with its prefix (10.0.0.2/24, 2001:db8::2/64), canonical."""
    if not isinstance(value, str) or '/' not in value:
        raise ResourceError('%s: %s %r must be ADDRESS/PREFIX (CIDR), like 10.0.0.2/24' % (what, field, value),
                            field=field)
    try:
        iface = ipaddress.ip_interface(value.strip())
    except ValueError:
        raise ResourceError('%s: %s %r is not a valid CIDR address' % (what, field, value), field=field) from None
    if iface.version == 6 and iface.ip.is_link_local:
        raise ResourceError('%s: %s %r is IPv6 link-local; the kernel manages those' % (what, field, value),
                            field=field)
    if iface.ip.is_multicast or iface.ip.is_unspecified:
        raise ResourceError('%s: %s %r is not a unicast address' % (what, field, value), field=field)
    return str(iface)


def check_ip(what: str, field: str, value) -> str:
    try:
        ip = ipaddress.ip_address(value.strip() if isinstance(value, str) else value)
    except ValueError:
        raise ResourceError('%s: %s %r is not an IP address' % (what, field, value), field=field) from None
    if ip.is_multicast or ip.is_unspecified:
        raise ResourceError('%s: %s %r is not a unicast address' % (what, field, value), field=field)
    return str(ip)


def check_network(what: str, field: str, value) -> str:
    """A destination: NETWORK/PREFIX with no host bits; 'default' is checked by the caller."""
    if not isinstance(value, str) or '/' not in value:
        raise ResourceError('%s: %s %r must be NETWORK/PREFIX (CIDR), like 10.1.0.0/16' % (what, field, value),
                            field=field)
    try:
        return str(ipaddress.ip_network(value.strip()))
    except ValueError:
        try:
            ipaddress.ip_network(value.strip(), strict=False)
        except ValueError:
            raise ResourceError('%s: %s %r is not a valid CIDR network' % (what, field, value), field=field) from None
        raise ResourceError('%s: %s %r has host bits set' % (what, field, value), field=field) from None


def ipv4_network(value, what: str) -> ipaddress.IPv4Network:
    """A canonical IPv4 network (no host bits), or ResourceError starting with ``what``.

    The one IPv4-only network rule: the networks of nat_masquerade, a published port's allowed sources.
    """
    try:
        net = ipaddress.ip_network(str(value), strict=False)
    except ValueError:
        raise ResourceError('%s: %r is not an IPv4 network' % (what, value)) from None
    if net.version != 4:
        raise ResourceError('%s: %r: only IPv4 is supported for now' % (what, value))
    try:
        ipaddress.ip_network(str(value))
    except ValueError:
        raise ResourceError('%s: %r has host bits set; write %s' % (what, value, net)) from None
    return net


def ipv4_address(value, what: str) -> str:
    """An IPv4 address, canonical (no leading zeros accepted), or ResourceError starting with ``what``."""
    try:
        addr = ipaddress.ip_address(str(value))
    except ValueError:
        raise ResourceError('%s: %r is not an IPv4 address' % (what, value)) from None
    if addr.version != 4:
        raise ResourceError('%s: %r: only IPv4 is supported for now' % (what, value))
    return str(addr)


def address_sort_key(cidr: str):
    iface = ipaddress.ip_interface(cidr)
    return (iface.version, int(iface.ip), iface.network.prefixlen)


def check_address_list(what: str, field: str, values) -> list:
    if values is None:
        return []
    if not isinstance(values, list):
        raise ResourceError('%s: %s must be a list of CIDR addresses' % (what, field), field=field)
    seen = {}
    for value in values:
        cidr = check_interface_address(what, field, value)
        ip = cidr.split('/', maxsplit=1)[0]
        if ip in seen:
            raise ResourceError('%s: %s lists %s twice (%s and %s)' % (what, field, ip, seen[ip], cidr), field=field)
        seen[ip] = cidr
    return sorted(seen.values(), key=address_sort_key)
