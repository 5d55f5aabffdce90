# -*- coding: utf-8 -*-
# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Network namespaces, links, addresses and routes through pyroute2, in-process.

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

The validation helpers at the end (names, CIDRs, MACs, MTUs) are pure functions,
shared by the resources in ``_netlink_resources``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import inspect
import ipaddress
import os
import re
import traceback
from contextlib import contextmanager

try:
    from pyroute2 import IPRoute
    from pyroute2.netlink.exceptions import NetlinkError
except ImportError:
    HAS_PYROUTE2 = False
    PYROUTE2_IMPORT_ERROR = traceback.format_exc()
    IPRoute = None

    class NetlinkError(Exception):  # type: ignore[no-redef]
        """Stand-in so that ``except NetlinkError`` works without pyroute2."""
else:
    HAS_PYROUTE2 = True
    PYROUTE2_IMPORT_ERROR = None

from ansible_collections.anatomy.containers.plugins.module_utils._resource import OWNER_MARK, ResourceError

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

CLONE_NEWNET = 0x40000000
MS_BIND = 0x1000
MS_REC = 0x4000
MS_SHARED = 1 << 20
MNT_DETACH = 0x2

IFNAMSIZ = 16


def owned(alias) -> bool:
    return bool(alias) and alias.startswith(OWNER_MARK)


# -- system calls that Python 3.9 to 3.11 lack --------------------------------------------------
_LIBC = None


def _libc():
    global _LIBC
    if _LIBC is None:
        _LIBC = ctypes.CDLL(ctypes.util.find_library('c') or 'libc.so.6', use_errno=True)
        _LIBC.mount.argtypes = (ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_void_p)
        _LIBC.umount2.argtypes = (ctypes.c_char_p, ctypes.c_int)
        _LIBC.setns.argtypes = (ctypes.c_int, ctypes.c_int)
        _LIBC.unshare.argtypes = (ctypes.c_int,)
    return _LIBC


def _check(ret: int, what: str) -> None:
    if ret != 0:
        err = ctypes.get_errno()
        raise OSError(err, '%s: %s' % (what, os.strerror(err)))


def setns(fd: int, nstype: int = CLONE_NEWNET) -> None:
    _check(_libc().setns(fd, nstype), 'setns')


def unshare(flags: int) -> None:
    _check(_libc().unshare(flags), 'unshare')


def mount(source: str, target: str, fstype: str, flags: int) -> None:
    _check(_libc().mount(source.encode() if source else None, target.encode(), fstype.encode(), flags, None),
           'mount %s' % target)


def umount2(target: str, flags: int = 0) -> None:
    _check(_libc().umount2(target.encode(), flags), 'umount %s' % target)


def _ipr_takes_groups() -> bool:
    if IPRoute is None:
        return False
    try:
        return 'groups' in inspect.signature(IPRoute.__init__).parameters
    except (TypeError, ValueError):
        return False


class Netlink:
    """The kernel, seen through netlink. ``ns`` arguments name a namespace under /run/netns; None is our own.

    Reading methods return plain dicts; writing methods take names. Use it as a
    context manager (or call :meth:`close`): every socket is closed at the end.
    """

    def __init__(self):
        if not HAS_PYROUTE2:
            raise RuntimeError('pyroute2 is required')
        self._home = os.open('/proc/thread-self/ns/net', os.O_RDONLY | os.O_CLOEXEC)
        self._groups = _ipr_takes_groups()
        self._host = None
        self._cur = None
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
        if self._host is not None:
            self._host.close()
            self._host = None
        if self._home is not None:
            os.close(self._home)
            self._home = None

    def _drop_cur(self) -> None:
        if self._cur is not None:
            self._cur.close()
        self._cur = self._cur_ns = None

    def _new_ipr(self):
        # 0.9 subscribes to multicast groups by default; a command socket needs none.
        return IPRoute(groups=0) if self._groups else IPRoute()

    @contextmanager
    def _entered(self, ns: str):
        """Run the body with this thread in namespace ns; always come back."""
        fd = os.open(os.path.join(NETNS_RUN_DIR, ns), os.O_RDONLY | os.O_CLOEXEC)
        try:
            setns(fd)
            try:
                yield
            finally:
                setns(self._home)
        finally:
            os.close(fd)

    def _ipr(self, ns):
        """A socket in ns (one cached for the host, one for the last namespace used)."""
        if ns is None:
            if self._host is None:
                self._host = self._new_ipr()
            return self._host
        if self._cur_ns != ns:
            self._drop_cur()
            with self._entered(ns):
                self._cur = self._new_ipr()
            self._cur_ns = ns
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
        for name in self.netns_names():
            try:
                fd = os.open(os.path.join(NETNS_RUN_DIR, name), os.O_RDONLY | os.O_CLOEXEC)
            except OSError:
                continue
            try:
                reply = self._ipr(None).get_netnsid(fd=fd)
            except NetlinkError:
                reply = None
            finally:
                os.close(fd)
            if reply and reply.get('nsid') is not None and reply['nsid'] >= 0:
                found[reply['nsid']] = name
        return found

    def _prepare_run_dir(self) -> None:
        """Make /run/netns a shared mount point, as `ip netns add` does, so that the namespaces
        mounted there are seen in every mount namespace."""
        if self._run_dir_ready:
            return
        os.makedirs(NETNS_RUN_DIR, mode=0o755, exist_ok=True)
        try:
            mount('', NETNS_RUN_DIR, 'none', MS_SHARED | MS_REC)
        except OSError as exc:
            if exc.errno != errno.EINVAL:
                raise
            mount(NETNS_RUN_DIR, NETNS_RUN_DIR, 'none', MS_BIND | MS_REC)
            mount('', NETNS_RUN_DIR, 'none', MS_SHARED | MS_REC)
        self._run_dir_ready = True

    def netns_create(self, name: str) -> None:
        """A new namespace at /run/netns/NAME, marked ours on its lo, lo up."""
        self._prepare_run_dir()
        self._dumps.pop(name, None)
        path = os.path.join(NETNS_RUN_DIR, name)
        os.close(os.open(path, os.O_RDONLY | os.O_CREAT | os.O_EXCL, 0))
        mounted = False
        try:
            unshare(CLONE_NEWNET)
            try:
                mount('/proc/thread-self/ns/net', path, 'none', MS_BIND)
                mounted = True
                ipr = self._new_ipr()
                try:
                    ipr.link('set', index=1, ifalias=MARK_NETNS, state='up')
                finally:
                    ipr.close()
            finally:
                setns(self._home)
        except BaseException:
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
            self._dumps[ns] = [self._parse_link(msg) for msg in self._ipr(ns).get_links()]
        return [dict(link) for link in self._dumps[ns]]

    @staticmethod
    def _parse_link(msg) -> dict:
        info = msg.get_attr('IFLA_LINKINFO')
        kind = info.get_attr('IFLA_INFO_KIND') if info is not None else None
        data = info.get_attr('IFLA_INFO_DATA') if info is not None else None
        stp = None
        if kind == 'bridge' and data is not None and not isinstance(data, (str, bytes)):
            stp = data.get_attr('IFLA_BR_STP_STATE')
        mac = msg.get_attr('IFLA_ADDRESS')
        return {
            'index': msg['index'],
            'name': msg.get_attr('IFLA_IFNAME'),
            'kind': kind,
            'alias': msg.get_attr('IFLA_IFALIAS') or None,
            'mtu': msg.get_attr('IFLA_MTU'),
            'up': bool(msg['flags'] & IFF_UP),
            'master': msg.get_attr('IFLA_MASTER') or None,
            'mac': mac.lower() if isinstance(mac, str) else None,
            'peer_index': msg.get_attr('IFLA_LINK'),
            'peer_nsid': msg.get_attr('IFLA_LINK_NETNSID'),
            'stp': None if stp is None else bool(stp),
        }

    def _get(self, ns, name):
        """One link by name, asked of the kernel (no dump); None if there is none."""
        if ns in self._dumps:
            for link in self._dumps[ns]:
                if link['name'] == name:
                    return dict(link)
            return None
        try:
            reply = list(self._ipr(ns).link('get', ifname=name))
        except NetlinkError as exc:
            if exc.code == errno.ENODEV:
                return None
            raise
        return self._parse_link(reply[0]) if reply else None

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
        out = []
        for msg in self._ipr(ns).get_addr():
            address = msg.get_attr('IFA_LOCAL') or msg.get_attr('IFA_ADDRESS')
            if not address:
                continue
            iface = ipaddress.ip_interface('%s/%d' % (address, msg['prefixlen']))
            if iface.version == 6 and iface.ip.is_link_local:
                continue
            out.append({'index': msg['index'], 'cidr': str(iface)})
        return out

    def routes(self, ns=None) -> list:
        """[{'oif', 'dst', 'via'}]: the routes of ROUTE_PROTO in the main table."""
        out = []
        ipr = self._ipr(ns)
        for family, zero in ((AF_INET, '0.0.0.0'), (AF_INET6, '::')):
            for msg in ipr.get_routes(family=family):
                table = msg.get_attr('RTA_TABLE') or msg['table']
                if table != MAIN_TABLE or msg['proto'] != ROUTE_PROTO or msg['family'] != family:
                    continue
                dst = ipaddress.ip_network('%s/%d' % (msg.get_attr('RTA_DST') or zero, msg['dst_len']))
                via = msg.get_attr('RTA_GATEWAY')
                out.append({'oif': msg.get_attr('RTA_OIF'), 'dst': str(dst),
                            'via': str(ipaddress.ip_address(via)) if via else None})
        return out

    # -- writing ---------------------------------------------------------------------
    def bridge_add(self, name: str, mtu: int, stp: bool) -> None:
        self._dumps.pop(None, None)
        ipr = self._ipr(None)
        ipr.link('add', ifname=name, kind='bridge', br_stp_state=1 if stp else 0)
        # MTU set after creation counts as set by the user: the bridge keeps it when ports join.
        ipr.link('set', index=self._index(None, name), mtu=mtu, ifalias=MARK_BRIDGE, state='up')

    def link_set(self, ns, name: str, **changes) -> None:
        """Change mtu, master (a name, or None to detach), mac, stp (bridges), alias or up on a link."""
        index = self._index(ns, name)
        request = {}
        if 'mtu' in changes:
            request['mtu'] = changes['mtu']
        if 'master' in changes:
            request['master'] = self._index(ns, changes['master']) if changes['master'] else 0
        if 'mac' in changes:
            request['address'] = changes['mac']
        if 'alias' in changes:
            request['ifalias'] = changes['alias']
        if 'up' in changes:
            request['state'] = 'up' if changes['up'] else 'down'
        self._dumps.pop(ns, None)
        ipr = self._ipr(ns)
        if 'stp' in changes:
            ipr.link('set', index=index, kind='bridge', br_stp_state=1 if changes['stp'] else 0)
        if request:
            ipr.link('set', index=index, **request)

    def link_del(self, ns, name: str) -> None:
        index = self._index(ns, name)
        self._dumps.clear()  # a veth takes its peer along, wherever it is
        self._ipr(ns).link('del', index=index)

    def veth_add(self, name: str, peer: str, netns, bridge, mtu: int, peer_mac) -> None:
        """A veth pair NAME (here) and PEER (in netns): created, marked, attached and up in three requests."""
        self._dumps.pop(None, None)
        self._dumps.pop(netns, None)
        ipr = self._ipr(None)
        if netns is None:
            ipr.link('add', ifname=name, kind='veth', peer={'ifname': peer})
        else:
            fd = os.open(os.path.join(NETNS_RUN_DIR, netns), os.O_RDONLY | os.O_CLOEXEC)
            try:
                ipr.link('add', ifname=name, kind='veth', peer={'ifname': peer, 'net_ns_fd': fd})
            finally:
                os.close(fd)
        host_end = {'mtu': mtu, 'ifalias': MARK_VETH, 'state': 'up'}
        if bridge:
            host_end['master'] = self._index(None, bridge)
        ipr.link('set', index=self._index(None, name), **host_end)
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
    """A Linux interface name: 1 to 15 bytes, no '/', ':' or white space, not '.' or '..'."""
    if not isinstance(value, str) or not value:
        raise ResourceError('%s: %s must be a non-empty interface name' % (what, field), field=field)
    size = len(value.encode('utf-8'))
    if size >= IFNAMSIZ:
        raise ResourceError('%s: %s %r is %d bytes long; an interface name has at most %d'
                            % (what, field, value, size, IFNAMSIZ - 1), field=field)
    if value in ('.', '..') or '/' in value or ':' in value or any(c.isspace() for c in value):
        raise ResourceError("%s: %s %r is not a valid interface name (no '/', ':' or white space)"
                            % (what, field, value), field=field)
    return value


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
