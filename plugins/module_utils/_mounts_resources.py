# -*- coding: utf-8 -*-
# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The storage resources: overlay mounts and bind mounts of volumes and host paths.

This is a private module_util: its API may change without notice.

:class:`OverlayMount` and :class:`BindVolume` are the resources; each takes a kernel handle
(:class:`._mounts.Kernel`, or a fake in unit tests) and a :class:`._mounts.Records` directory. A mount
is ours when a record under RECORD_DIR names it and /proc/self/mountinfo still shows it as we made it;
every other mount point is someone else's. BindVolume mounts; the volumes it binds are a
:class:`VolumeStore`'s (a volume is ours when its directory holds the marker file :data:`VOLUME_MARKER`,
which only this collection writes, and only when it created the directory), the files it writes and
binds (``content``) a :class:`ContentFiles`'s.

In check mode (``check_mode``, set by :func:`._resource.converge`) a lower dir or a root that does not
exist yet is taken to be one an earlier task of the same run makes: the plan is made as if it existed.
"""

from __future__ import annotations

import errno
import grp
import json
import os
import pwd
import re
import shutil
import stat
import time

from ansible_collections.anatomy.containers.plugins.module_utils._resource import (
    OWNER_MARK, Resource, ResourceError, check_mode_reads, run_module, state_argument_spec,
)
from ansible_collections.anatomy.containers.plugins.module_utils._mounts import (
    DT_UNKNOWN, LINK_DIR, LOCKED_FLAGS, MNT_DETACH, MS_BIND, MS_RDONLY, MS_REC, MS_REMOUNT, OVERLAY_PATH_FORBIDDEN,
    PROPAGATION, UPPER_REFUSED, Kernel, MountSpec, Records, Resolver, check_volume_name, existing_ancestor, fd_path,
    fits_in_page, is_canonical, missing_dirs, overlay_data, overlay_fsconfig, overlay_layers, processes_using_paths,
    short_link_name, split_flags,
)

DEFAULT_VOLUMES_ROOT = '/var/lib/anatomy/volumes'
VOLUME_MARKER = 'anatomy.json'
#: Options that name the layers; they are given as lower, upper and work, never in options.
LAYER_OPTIONS = ('lowerdir', 'lowerdir+', 'upperdir', 'workdir', 'datadir+')


def _check_path(what, field, value, forbidden=()) -> str:
    if not is_canonical(value):
        raise ResourceError('%s: %s must be an absolute path without ".", ".." or a trailing "/", got %r'
                            % (what, field, value), field=field)
    bad = [c for c in forbidden if c in value]
    if bad:
        raise ResourceError('%s: %s %r contains %r, which overlayfs mount options cannot carry'
                            % (what, field, value, bad[0]), field=field)
    return value


def _inside(path, other) -> bool:
    return path == other or path.startswith(other.rstrip('/') + '/')


def remove_empty_dirs(directories) -> None:
    """rmdir each of DIRECTORIES, deepest first; one that is not empty (or is a mount point, or is gone) stays."""
    for directory in sorted(set(directories), key=lambda d: d.count('/'), reverse=True):
        try:
            os.rmdir(directory)
        except OSError:
            pass


class _Mounts(Resource):
    """What both resources share: the kernel, the records, the mount table of the run, unmounting."""

    record_kind = ''

    def __init__(self, kernel, records: Records | None = None, lazy_unmount: bool = False, resolver=None):
        self.kernel = kernel
        self.records = records or Records()
        self.lazy_unmount = lazy_unmount
        self.resolver = resolver or Resolver(kernel)
        self.table = None
        self.specs = {}

    def record_extra(self) -> dict:
        """What the restore record keeps beyond the config: the dirs each mount's record says we made (``created``),
        which the mount records (on /run) lose at a reboot and a purge needs to tidy a workload's dir away."""
        return {'created': {spec.where: spec.created for spec in self.records.load(self.record_kind) if spec.created}}

    def adopt_created(self, created: dict) -> None:
        """After a restore: the dirs the first mount of each made, back into the records of the mounts made again."""
        for spec in self.records.load(self.record_kind):
            earlier = created.get(spec.where) or []
            if earlier and any(d not in spec.created for d in earlier):
                spec.created = list(earlier) + [d for d in spec.created if d not in earlier]
                self.records.save(spec)

    def mount_table(self):
        if self.table is None:
            self.table = self.kernel.mountinfo()
        return self.table

    def check_all_not_busy(self, checks) -> None:
        """Refuse, before any change, to unmount what a process or a mount on top of it uses (unless lazy_unmount).

        CHECKS are (what, where, submounts): one scan of /proc and one mount table for all of them.
        """
        # In check mode the tasks before this one (stopping a removed workload's service, unmounting what is on
        # its root) changed nothing: what they will free is no reason to fail a preview. A real run still refuses.
        if self.lazy_unmount or not checks or self.check_mode:
            return
        users = processes_using_paths([where for _what, where, _submounts in checks])
        table = self.mount_table()
        for what, where, submounts in checks:
            top = table.at(where)
            on_it = [m.mount_point for m in table.subtree(top) if m.mount_point != where] \
                if submounts and top is not None else []
            if users[where] or on_it:
                raise ResourceError('%s at %s is in use (%s); it is not unmounted. Stop what uses it, or set '
                                    'lazy_unmount=true to detach it anyway'
                                    % (what, where, '; '.join(
                                        (['processes: ' + ', '.join(users[where])] if users[where] else [])
                                        + (['mounts on it: ' + ', '.join(on_it)] if on_it else []))),
                                    field='lazy_unmount')

    def unmount(self, what, where, recursive=False, table=None, done=None) -> None:
        """Unmount WHERE (and, for a recursive bind, the mounts it brought along, deepest first).

        Many unmounts share one TABLE (read before the first of them) and the set DONE of the mount
        points already unmounted, which are never unmounted twice: that would take what lies beneath.
        """
        flags = MNT_DETACH if self.lazy_unmount else 0
        done = set() if done is None else done
        targets = [where]
        if recursive and not self.lazy_unmount:
            table = table or self.kernel.mountinfo()
            top = table.at(where)
            if top is not None:
                subs = [m.mount_point for m in table.subtree(top) if m.mount_point != where]
                targets = sorted(set(subs), key=len, reverse=True) + [where]
        for target in targets:
            if target in done:
                continue
            try:
                self.kernel.umount(target, flags)
            except OSError as exc:
                if exc.errno == errno.EBUSY:
                    raise ResourceError('%s at %s is busy (the kernel refused to unmount it); stop what uses it, '
                                        'or set lazy_unmount=true to detach it anyway' % (what, target),
                                        field='lazy_unmount')
                if exc.errno != errno.EINVAL:  # EINVAL: not a mount point (any more)
                    raise
            done.add(target)
        self.table = None


class OverlayMount(_Mounts):
    """An overlay: read-only lower layers (topmost first) under an optional writable upper layer."""

    kind = 'overlay'
    key = 'path'
    record_kind = 'overlay'
    defaults = {'upper': None, 'work': None, 'options': []}

    def __init__(self, kernel, records=None, purge=False, lazy_unmount=False, resolver=None, link_dir=LINK_DIR):
        super().__init__(kernel, records, lazy_unmount, resolver)
        self.purge = purge
        self.link_dir = link_dir

    # -- reading --------------------------------------------------------------
    def read(self):
        self.table = None
        table = self.mount_table()
        owned, ours, foreign = [], set(), set()
        self.specs = {}
        for spec in self.records.load(self.record_kind):
            mount = table.at(spec.where)
            if mount is None or mount.fstype != 'overlay':
                continue  # unmounted behind our back: the record is stale, the overlay absent
            layers = overlay_layers(mount)
            if (layers['lower'], layers['upper'], layers['work']) != (
                    spec.extra.get('mounted_lower'), spec.config['upper'], spec.config['work']):
                continue  # remounted by someone else: not ours any more
            owned.append(dict(spec.config))
            ours.add(spec.where)
            self.specs[spec.where] = spec
        foreign.update(m.mount_point for m in table.mounts if m.mount_point not in ours)
        return owned, foreign

    # -- validation -----------------------------------------------------------
    def normalize(self, item):
        path = item.get('path')
        what = 'overlay %r' % path
        _check_path(what, 'path', path)
        if path == '/':
            raise ResourceError('%s: path must not be /' % what, field='path')
        base = existing_ancestor(path)
        if os.path.realpath(base) != base:
            # The kernel lists the mount under the resolved path: a re-run would not find it and mount again.
            raise ResourceError('%s: path goes through a symlink (%s is %s); give the resolved path'
                                % (what, base, os.path.realpath(base)), field='path')
        lower = item.get('lower')
        if not lower or not isinstance(lower, list):
            raise ResourceError('%s: lower must list at least one directory' % what, field='lower')
        for layer in lower:
            _check_path(what, 'lower', layer, OVERLAY_PATH_FORBIDDEN)
            # Missing, it is a prerequisite (the layer task builds it); there but no directory, a mistake.
            message = '%s: lower dir %s does not exist (or is not a directory)' % (what, layer)
            if os.path.lexists(layer) and not os.path.isdir(layer):
                raise ResourceError(message, field='lower')
            self.prerequisite(os.path.isdir(layer), message, field='lower')
        if len(set(lower)) != len(lower):
            raise ResourceError('%s: lower lists a directory twice' % what, field='lower')
        upper, work = item.get('upper'), item.get('work')
        if (upper is None) != (work is None):
            raise ResourceError('%s: upper and work go together: give both (a writable overlay) or neither '
                                '(a read-only one)' % what, field='work' if work is None else 'upper')
        if upper is None:
            if len(lower) < 2:
                raise ResourceError('%s: a read-only overlay (no upper and work dirs) needs at least two lower dirs'
                                    % what, field='lower')
        else:
            self._check_upper_work(what, path, lower, upper, work)
        options = item.get('options') or []
        for option in options:
            if not isinstance(option, str) or not option or ',' in option or '\x00' in option:
                raise ResourceError('%s: options must be single mount options without ",", got %r' % (what, option),
                                    field='options')
            if option.partition('=')[0] in LAYER_OPTIONS:
                raise ResourceError('%s: give layers as lower, upper and work, not as the option %r' % (what, option),
                                    field='options')
        options = sorted(set(o for o in options if o != 'rw'))
        return {'path': path, 'lower': list(lower), 'upper': upper, 'work': work, 'options': options}

    def _check_upper_work(self, what, path, lower, upper, work):
        _check_path(what, 'upper', upper, OVERLAY_PATH_FORBIDDEN)
        _check_path(what, 'work', work, OVERLAY_PATH_FORBIDDEN)
        if _inside(upper, work) or _inside(work, upper):
            raise ResourceError('%s: upper %s and work %s must be separate directories, neither inside the other'
                                % (what, upper, work), field='work')
        for field, value in (('upper', upper), ('work', work)):
            for layer in lower:
                if _inside(value, layer) or _inside(layer, value):
                    raise ResourceError('%s: %s %s overlaps lower dir %s' % (what, field, value, layer), field=field)
            if _inside(path, value):
                raise ResourceError('%s: path must not lie inside the %s dir %s' % (what, field, value), field='path')
            if os.path.lexists(value) and not os.path.isdir(value):
                raise ResourceError('%s: %s %s exists and is not a directory' % (what, field, value), field=field)
        table = self.mount_table()
        upper_base = os.path.realpath(existing_ancestor(upper))
        work_base = os.path.realpath(existing_ancestor(work))
        upper_mount = table.containing(upper_base)
        if self.device(upper_base) != self.device(work_base):
            work_mount = table.containing(work_base)
            raise ResourceError(
                '%s: upper dir %s (%s on %s) and work dir %s (%s on %s) are on different filesystems; overlayfs '
                'needs both on one' % (what, upper, upper_mount.fstype if upper_mount else '?',
                                       upper_mount.mount_point if upper_mount else '?', work,
                                       work_mount.fstype if work_mount else '?',
                                       work_mount.mount_point if work_mount else '?'), field='work')
        if upper_mount is not None:
            fstype = upper_mount.fstype
            if fstype in UPPER_REFUSED:
                raise ResourceError('%s: upper dir %s is on %s (mounted at %s): %s' % (
                    what, upper, fstype, upper_mount.mount_point, UPPER_REFUSED[fstype]), field='upper')
            if upper_mount.read_only:
                raise ResourceError('%s: upper dir %s is on a read-only mount (%s at %s)' % (
                    what, upper, fstype, upper_mount.mount_point), field='upper')
            if not self._has_dtype(upper_base):
                raise ResourceError(
                    '%s: upper dir %s is on %s (mounted at %s) without d_type support (xfs formatted with ftype=0?); '
                    'overlayfs needs d_type' % (what, upper, fstype, upper_mount.mount_point), field='upper')

    @staticmethod
    def device(path) -> int:
        """The filesystem a path is on (st_dev)."""
        return os.stat(path).st_dev

    def _has_dtype(self, path) -> bool:
        """Whether directory entries on PATH's filesystem carry their type (ftype=1 on xfs).

        Looks at entries that exist (never writes, so it works in check mode): PATH's, or its
        parents' on the same filesystem.
        """
        try:
            dev = self.device(path)
            while True:
                entries = self.kernel.dtypes(path)
                if entries is None:
                    return True
                if entries:
                    return all(dtype != DT_UNKNOWN for _name, dtype in entries)
                parent = os.path.dirname(path)
                if parent == path or self.device(parent) != dev:
                    return True
                path = parent
        except OSError:
            return True

    def validate_plan(self, plan, current):
        unmounted = [c for c, _d in plan.update] + plan.delete
        self.check_all_not_busy([('overlay', item['path'], True) for item in unmounted])
        if self.purge:
            for item in plan.delete:
                self._check_nothing_mounted_below(item)
        for item in plan.create:
            if os.path.lexists(item['path']) and not os.path.isdir(item['path']):
                raise ResourceError('overlay %r: path exists and is not a directory' % item['path'], field='path')

    # -- writing --------------------------------------------------------------
    def create(self, item):
        created = []
        for directory in (item['path'], item['upper'], item['work']):
            if directory:
                for missing in missing_dirs(directory):
                    os.mkdir(missing, 0o755)
                    created.append(missing)
        flags, data_options = split_flags(item['options'])
        lower, upper, work = item['lower'], item['upper'], item['work']
        data = overlay_data(lower, upper, work, data_options)
        options = list(item['options']) + ['lowerdir=' + ':'.join(lower)] + (
            ['upperdir=' + upper, 'workdir=' + work] if upper else [])
        spec = MountSpec('overlay', 'overlay', item['path'], 'overlay', options, item, created)
        if fits_in_page(data):
            spec.extra.update(method='mount', mounted_lower=lower)
            self.records.save(spec)
            self._mount(spec, lambda: self.kernel.mount('overlay', item['path'], 'overlay', flags, data))
            return
        # Too long for one page: the new mount API takes one layer per call (lowerdir+, Linux 6.8).
        spec.extra.update(method='fsconfig', mounted_lower=lower)
        self.records.save(spec)
        try:
            self._mount(spec, lambda: self.kernel.fsmount_overlay(
                item['path'], overlay_fsconfig(lower, upper, work, data_options), flags))
            return
        except OSError as exc:
            if exc.errno not in (errno.EINVAL, errno.ENOSYS, errno.EPERM):
                raise
        # Older kernels: short links, as Docker's overlay2 keeps under l/, given relative to their parent
        # directory (the mount is made from there), so 100 layers take about 1,500 bytes.
        links = self.short_links(lower)
        data = overlay_data(links, upper, work, data_options)
        if not fits_in_page(data):
            raise ResourceError('overlay %r: %d lower dirs do not fit in one page of mount options even as short '
                                'links, and this kernel has no lowerdir+' % (item['path'], len(lower)), field='lower')
        spec.extra.update(method='links', mounted_lower=links, links_dir=os.path.dirname(self.link_dir))
        self.records.save(spec)
        self._mount(spec, lambda: self._mount_from(os.path.dirname(self.link_dir), lambda: self.kernel.mount(
            'overlay', item['path'], 'overlay', flags, data)))

    def short_links(self, lower) -> list:
        """A link per layer under link_dir, named relative to link_dir's parent ("l/0123456789ab")."""
        os.makedirs(self.link_dir, mode=0o700, exist_ok=True)
        links = []
        for layer in lower:
            name = short_link_name(layer)
            link = os.path.join(self.link_dir, name)
            try:
                if os.readlink(link) != layer:
                    os.unlink(link)
                    os.symlink(layer, link)
            except FileNotFoundError:
                os.symlink(layer, link)
            links.append(os.path.join(os.path.basename(self.link_dir), name))
        return links

    @staticmethod
    def _mount_from(directory, call):
        """Run CALL with DIRECTORY as the working directory (relative layer paths), then go back."""
        cwd = os.open('.', os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            os.chdir(directory)
            call()
        finally:
            os.fchdir(cwd)
            os.close(cwd)

    def _mount(self, spec, call):
        try:
            call()
        except OSError:
            self.records.remove(spec)
            raise
        self.table = None
        self.specs[spec.where] = spec

    def _check_nothing_mounted_below(self, item) -> None:
        """Purge removes the upper and work dirs with all they hold: never through a mount (a volume may be there)."""
        if not item['upper']:
            return
        table = self.mount_table()
        # The kernel lists mount points by their resolved path: an upper reached through a symlink is looked up there too.
        trees = {path for tree in (item['upper'], item['work']) for path in (tree, os.path.realpath(tree))}
        below = sorted({m.mount_point for tree in trees for m in table.under(tree)})
        if below:
            raise ResourceError('overlay %r: purge would remove its upper and work dirs, but %s %s mounted below them; '
                                'nothing is removed. Unmount %s first' % (
                                    item['path'], ', '.join(below), 'is' if len(below) == 1 else 'are',
                                    'it' if len(below) == 1 else 'them'), field='purge', key=item['path'])

    def update(self, current, desired):
        old = self.specs.get(current['path'])
        self.unmount('overlay', current['path'])
        self.create(desired)
        if old is not None and old.created:
            # Keep what the first mount created, so that deleted still tidies it up.
            spec = self.specs[desired['path']]
            spec.created = old.created + [d for d in spec.created if d not in old.created]
            self.records.save(spec)

    def delete(self, item):
        """Unmount, forget, and tidy up: the merged dir if we made it; with purge, upper, work and every dir we made.

        Dirs we made (the record's ``created``, a workload's own dir among them) are removed deepest first and
        only when empty: what someone else put there, or a mount point, keeps them.
        """
        spec = self.specs.get(item['path'])
        self.unmount('overlay', item['path'])
        if spec is not None:
            self.records.remove(spec)
        created = list(spec.created) if spec is not None else []
        if not self.purge:
            created = [d for d in created if d == item['path']]
        elif item['upper']:
            self._check_nothing_mounted_below(item)  # again, now that it is unmounted: validate_plan said it first
            for directory in (item['upper'], item['work']):
                shutil.rmtree(directory, ignore_errors=True)
        remove_empty_dirs(created)


class VolumeStore:
    """Managed volumes: a directory per volume under ROOT, with our marker and the data in ``_data``.

    As Docker keeps /var/lib/docker/volumes/NAME/_data. A volume is ours when its directory holds
    :data:`VOLUME_MARKER`, which is written only when this collection creates the directory; only
    ours are ever purged.
    """

    def __init__(self, root: str = DEFAULT_VOLUMES_ROOT):
        self.root = root

    def directory(self, name) -> str:
        return os.path.join(self.root, name)

    def data(self, name) -> str:
        """Where a volume's data lives, the source of its binds."""
        return os.path.join(self.directory(name), '_data')

    def check(self, what, name) -> None:
        """Refuse a volume name (or a volumes root) that would not stay inside the root."""
        _check_path(what, 'volumes_root', self.root)
        why = check_volume_name(name)
        if why:
            raise ResourceError('%s: volume name %r %s' % (what, name, why), field='volume')

    def ensure(self, item) -> str:
        """Create the volume (its directory with our marker, and _data) unless it exists; set ownership; return _data."""
        vol_dir = self.directory(item['volume'])
        data = self.data(item['volume'])
        if not os.path.isdir(vol_dir):
            os.makedirs(self.root, mode=0o711, exist_ok=True)
            os.mkdir(vol_dir, 0o755)
            with open(os.path.join(vol_dir, VOLUME_MARKER), 'w') as marker:
                json.dump({'owner': OWNER_MARK, 'name': item['volume'],
                           'created': time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}, marker)
        if not os.path.isdir(data):
            os.mkdir(data, 0o755)
        self.set_ownership(data, item)
        return data

    @staticmethod
    def set_ownership(path, item) -> None:
        """The mode, owner and group an item asks for (those it gives), on PATH."""
        if item.get('mode') is not None:
            os.chmod(path, int(item['mode'], 8))
        uid = gid = -1
        if item.get('owner') is not None:
            uid = int(item['owner']) if str(item['owner']).isdigit() else pwd.getpwnam(item['owner']).pw_uid
        if item.get('group') is not None:
            gid = int(item['group']) if str(item['group']).isdigit() else grp.getgrnam(item['group']).gr_gid
        if uid != -1 or gid != -1:
            os.chown(path, uid, gid)

    def is_ours(self, name) -> bool:
        try:
            with open(os.path.join(self.directory(name), VOLUME_MARKER)) as marker:
                return json.load(marker).get('owner') == OWNER_MARK
        except (OSError, ValueError, AttributeError):
            return False

    def purge(self, name) -> None:
        """Delete a volume with its data, if it is ours."""
        if self.is_ours(name):
            shutil.rmtree(self.directory(name))


class ContentFiles:
    """Files this collection writes and binds (a workload's /etc/hosts): each read once a run, written in place.

    Written in place means the same inode, truncated and written, never a rename: a bind mount keeps
    showing the inode it was made on, so a new content reaches it at once, read-only binds included.
    """

    def __init__(self):
        #: path -> (st_dev, st_ino, bytes), None when missing, unreadable or not a regular file.
        self.files = {}

    @staticmethod
    def check(what, source, content) -> None:
        """A source the module writes: a regular file or nothing yet, below directories (or nothing yet)."""
        if not isinstance(content, str):
            raise ResourceError('%s: content must be a string' % what, field='content')
        if os.path.isdir(source):
            raise ResourceError('%s: source %s is a directory; with content, source is the file the content is '
                                'written to' % (what, source), field='source')
        if os.path.lexists(source) and not os.path.isfile(source):
            raise ResourceError('%s: source %s exists and is not a regular file; with content, source is the file '
                                'the content is written to' % (what, source), field='source')
        base = existing_ancestor(os.path.dirname(source))
        if not os.path.isdir(base):
            raise ResourceError('%s: the directory of source %s cannot be made: %s is not a directory'
                                % (what, source, base), field='source')

    def read(self, path):
        """(st_dev, st_ino, bytes) of a regular file, or None: missing, unreadable or not a regular file. Read once."""
        if path not in self.files:
            self.files[path] = None
            try:
                # O_NONBLOCK: a FIFO put in the file's place must not hang the run.
                fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
            except OSError:
                return None
            try:
                st = os.fstat(fd)
                if stat.S_ISREG(st.st_mode):
                    chunks = []
                    while True:
                        chunk = os.read(fd, max(st.st_size + 1, 65536))
                        if not chunk:
                            break
                        chunks.append(chunk)
                    self.files[path] = (st.st_dev, st.st_ino, b''.join(chunks))
            except OSError:
                pass
            finally:
                os.close(fd)
        return self.files[path]

    def write(self, path, content) -> list:
        """Make the file at PATH hold CONTENT, in place; return the directories made for it, outermost first.

        Missing directories are made 0755 and a missing file 0644; a file that already holds CONTENT
        is not written at all.
        """
        data = content.encode('utf-8')
        found = self.read(path)
        if found is not None and found[2] == data:
            return []
        fd, created, made = None, False, []
        if found is not None:
            try:
                # Never O_CREAT over it and never a rename: truncated and written, the same inode.
                fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
            except FileNotFoundError:
                pass
        if fd is None:
            for missing in missing_dirs(os.path.dirname(path)):
                os.mkdir(missing, 0o755)
                os.chmod(missing, 0o755)
                made.append(missing)
            created = True
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
            except FileExistsError:
                created = False
                fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        try:
            if created:
                os.fchmod(fd, 0o644)  # whatever the umask
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise OSError(errno.EINVAL, 'not a regular file', path)
            os.ftruncate(fd, 0)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)
        self.files[path] = (st.st_dev, st.st_ino, data)
        return made

    def remove(self, path) -> None:
        """Remove a file we wrote, if it is still a regular file there (never a directory, never a mount point)."""
        try:
            if not stat.S_ISREG(os.lstat(path).st_mode):
                return
            os.unlink(path)
        except OSError as exc:
            if exc.errno not in (errno.ENOENT, errno.EBUSY):
                raise
        self.files.pop(path, None)


class _Bind:
    """One bind being made or changed: its key, how messages name it, its host path, its config item, the
    mount ids it never counts as its own (there before it) and its record."""

    __slots__ = ('key', 'what', 'where', 'item', 'exclude', 'spec')

    def __init__(self, key, what, where, item, exclude, spec):
        self.key = key
        self.what = what
        self.where = where
        self.item = item
        self.exclude = set(exclude)
        self.spec = spec


class BindVolume(_Mounts):
    """A bind mount of a managed volume or a host path onto a target inside a root filesystem.

    The mounting is this class's; the volumes are a :class:`VolumeStore`'s and the files it writes
    (``content``) a :class:`ContentFiles`'s. It plans and applies in batches (:meth:`apply`).
    """

    kind = 'bind mount'
    key = ('root', 'target')
    record_kind = 'bind'
    defaults = {'root': '/', 'volume': None, 'source': None, 'content': None, 'read_only': False,
                'propagation': 'rprivate', 'recursive': True, 'owner': None, 'group': None, 'mode': None}

    def __init__(self, kernel, records=None, volumes_root=DEFAULT_VOLUMES_ROOT, purge=False, lazy_unmount=False,
                 resolver=None):
        super().__init__(kernel, records, lazy_unmount, resolver)
        self.volumes = VolumeStore(volumes_root)
        self.files = ContentFiles()
        self.purge = purge
        #: Keys of content binds whose source path no longer holds the file the bind shows (replaced or removed).
        self.stale = set()
        #: (root, target) -> (host path of its deepest existing part, components still missing), from normalize.
        self.resolved = {}
        #: (root, target) -> the dirs made for a bind unmounted to be made again in this run: its new record keeps them.
        self.carried = {}

    def describe(self, key):
        root, target = key
        return '%s %r' % (self.kind, target) + ('' if root == '/' else ' in %r' % root)

    def source_of(self, item) -> str:
        if item.get('volume') is not None:
            return self.volumes.data(item['volume'])
        return item['source']

    # -- reading --------------------------------------------------------------
    def read(self):
        self.table = None
        table = self.mount_table()
        owned = []
        self.specs = {}
        for spec in self.records.load(self.record_kind):
            mount = table.at(spec.where)
            if mount is None:
                continue
            config = dict(spec.config)
            config.setdefault('content', None)  # records written before content existed
            config['read_only'] = mount.read_only
            want = config['propagation'].lstrip('r')
            have = mount.propagation.split(',')
            if want not in have:
                config['propagation'] = have[0]
            key = (config['root'], config['target'])
            if config['content'] is not None:
                config['content'] = self.bound_content(key, config['source'], spec.where)
            owned.append(config)
            self.specs[key] = spec
        return owned, set()

    def bound_content(self, key, source, where):
        """The content of a content bind's source file, or None (then it is written, or bound again, on apply).

        None also when the source path no longer holds the file the bind shows (replaced by a rename, as
        sed -i or an editor does, or removed): writing it would not reach the bind, so the bind is made anew.
        """
        self.stale.discard(key)
        found = self.files.read(source)
        try:
            bound = os.stat(where)
        except OSError:
            bound = None
        if found is None or (bound is not None and (bound.st_dev, bound.st_ino) != found[:2]):
            self.stale.add(key)
            return None
        # Bytes that are not UTF-8 (no content option gives them) are shown as U+FFFD, and so differ.
        return found[2].decode('utf-8', 'replace')

    # -- validation -----------------------------------------------------------
    def normalize(self, item):
        root, target = item.get('root'), item.get('target')
        what = self.describe((root, target))
        _check_path(what, 'root', root)
        # Missing, the root is a prerequisite (overlay_mount makes it); there but no directory, a mistake.
        if os.path.lexists(root) and not os.path.isdir(root):
            raise ResourceError('%s: root %s is not a directory' % (what, root), field='root')
        assumed = not self.prerequisite(os.path.isdir(root), '%s: root %s is not a directory' % (what, root),
                                        field='root')
        _check_path(what, 'target', target)
        if target == '/':
            raise ResourceError('%s: target must not be the root itself' % what, field='target')
        volume, source, content = item.get('volume'), item.get('source'), item.get('content')
        if (volume is None) == (source is None):
            raise ResourceError('%s: give exactly one of volume and source' % what,
                                field='source' if volume is None else 'volume')
        if volume is not None:
            if content is not None:
                raise ResourceError('%s: content goes with source (a file this module writes), not with volume'
                                    % what, field='content')
            self.volumes.check(what, volume)
        else:
            _check_path(what, 'source', source)
            if content is not None:
                self.files.check(what, source, content)
            elif not os.path.exists(source):
                raise ResourceError('%s: source %s does not exist' % (what, source), field='source')
            for field in ('owner', 'group', 'mode'):
                if item.get(field) is not None:
                    raise ResourceError('%s: %s applies to volumes only, not to a host source' % (what, field),
                                        field=field)
        for field in ('read_only', 'recursive'):
            if not isinstance(item.get(field), bool):
                raise ResourceError('%s: %s must be true or false' % (what, field), field=field)
        propagation = item.get('propagation')
        if propagation not in PROPAGATION:
            raise ResourceError('%s: propagation must be one of %s' % (what, ', '.join(PROPAGATION)),
                                field='propagation')
        mode = item.get('mode')
        if mode is not None:
            mode = str(mode)
            if not re.match(r'^0?[0-7]{3}$', mode):
                raise ResourceError('%s: mode must be octal like "0755", got %r' % (what, mode), field='mode')
            mode = '0' + mode[-3:]
        self._check_owner(what, item.get('owner'), item.get('group'))
        self._check_propagation(what, item, propagation)
        if assumed:
            # Nothing of the root exists: the whole target will be made inside it.
            self.resolved[(root, target)] = (root, [p for p in target.split('/') if p])
        else:
            try:
                # Kept for validate_plan: where the target is on the host now, and what of it is still missing.
                self.resolved[(root, target)] = self.resolver.resolve_missing(root, target)
            except OSError as exc:
                raise ResourceError('%s: target cannot be resolved inside %s: %s' % (what, root, exc.strerror),
                                    field='target')
        return {'root': root, 'target': target, 'volume': volume, 'source': source, 'content': content,
                'read_only': item['read_only'], 'propagation': propagation, 'recursive': item['recursive'],
                'owner': item.get('owner'), 'group': item.get('group'), 'mode': mode}

    @staticmethod
    def _check_owner(what, owner, group):
        for field, value, lookup in (('owner', owner, pwd.getpwnam), ('group', group, grp.getgrnam)):
            if value is None or str(value).isdigit():
                continue
            try:
                lookup(value)
            except KeyError:
                raise ResourceError('%s: %s %r does not exist on this host' % (what, field, value), field=field)

    def _check_propagation(self, what, item, propagation):
        """shared and slave need a source mount that propagates, or they silently end up private (runc#5390)."""
        want = propagation.lstrip('r')
        if want == 'private':
            return
        source = self.source_of(item)
        base = os.path.realpath(existing_ancestor(source))
        mount = self.mount_table().containing(base)
        if mount is None:
            return
        have = mount.propagation.split(',')
        ok = 'shared' in have if want == 'shared' else ('shared' in have or 'slave' in have)
        if not ok:
            raise ResourceError(
                '%s: propagation %s needs a source on a %s mount, but %s lies on %s, which is %s: the bind would '
                'silently end up private (runc#5390). Make it shared first (mount --make-rshared %s) or use '
                'rprivate' % (what, propagation, 'shared' if want == 'shared' else 'shared or slave', source,
                              mount.mount_point, mount.propagation, mount.mount_point), field='propagation')

    def _remount_needed(self, current, desired) -> bool:
        """Whether an update unmounts and mounts again. Never for content alone: that is written in place."""
        return any(current[f] != desired[f] for f in ('volume', 'source', 'recursive'))

    def _rebind_needed(self, current, desired) -> bool:
        """A remount, or content for a bind that no longer shows its source path's file (replaced or removed)."""
        if self._remount_needed(current, desired):
            return True
        if desired.get('content') is None:
            return False
        key = (current['root'], current['target'])
        if current.get('content') is None and key not in self.stale and key in self.specs:
            # A plain bind of a host file given content now: is its source path still the file it shows?
            self.bound_content(key, desired['source'], self.specs[key].where)
        return key in self.stale

    def validate_plan(self, plan, current):
        self._check_shared_sources(plan, current)
        table = self.mount_table()
        unmounted = [c for c, d in plan.update if self._rebind_needed(c, d)] + plan.delete
        self.check_all_not_busy([(self.describe(self.key_of(item)), self.specs[self.key_of(item)].where, False)
                                 for item in unmounted if self.key_of(item) in self.specs])
        ours = {spec.where for spec in self.specs.values()}
        # Where each bind to make lands on the host (as far as it exists now): two in one place would share a record.
        deleted = {self.key_of(item) for item in plan.delete}
        landing = {spec.where: key for key, spec in self.specs.items() if key not in deleted}
        for item in plan.create:
            key = self.key_of(item)
            found = self.resolved.get(key)
            if found is None:
                try:
                    found = self.resolver.resolve_missing(item['root'], item['target'])
                except OSError:
                    continue  # normalize says why
            where = os.path.join(found[0], *found[1])
            if where in landing:
                raise ResourceError('%s: target %s is the same host path as the target of %s'
                                    % (self.describe(key), where, self.describe(landing[where])), field='target',
                                    key=key)
            landing[where] = key
            if found[1]:
                continue  # created at apply time: no mount there yet
            if table.at(where) is not None and where not in ours:
                raise ResourceError('%s: target %s is already a mount point not managed by %s; refusing to mount '
                                    'over it' % (self.describe(key), where, OWNER_MARK), field='target')
        if self.purge:
            # A volume is purged only when no mount keeps it: none left in place, none made or changed by this run.
            deleted = {(i['root'], i['target']) for i in plan.delete}
            users = {}
            for key, spec in self.specs.items():
                if key not in deleted and spec.config.get('volume') is not None:
                    users.setdefault(spec.config['volume'], spec.where)
            for item in plan.create + [d for _c, d in plan.update]:
                if item.get('volume') is not None:
                    users.setdefault(item['volume'], '%s in %s' % (item['target'], item['root']))
            for item in plan.delete:
                if item.get('volume') in users:
                    raise ResourceError('volume %r: purge would delete its data, but it is still mounted at %s'
                                        % (item['volume'], users[item['volume']]), field='purge')

    def _check_shared_sources(self, plan, current):
        """Binds that share a source file must agree on its content, or each run would rewrite it."""
        changed = {self.key_of(d) for _c, d in plan.update} | {self.key_of(i) for i in plan.delete}
        writers = {}
        for item in plan.create + [d for _c, d in plan.update]:
            if item.get('content') is not None:
                writers.setdefault(item['source'], []).append(item)
        for key in current:
            # A bind left as it is keeps its source's content: what its record says was written.
            spec = self.specs.get(key)
            if key not in changed and spec is not None and spec.config.get('content') is not None \
                    and spec.config['source'] in writers:
                writers[spec.config['source']].append(spec.config)
        for source, items in writers.items():
            # items[0] is in the plan: the error names its position in config.
            other = next((i for i in items if i['content'] != items[0]['content']), None)
            if other is not None:
                raise ResourceError('%s: source %s is also written by %s, with other content'
                                    % (self.describe(self.key_of(items[0])), source, self.describe(self.key_of(other))),
                                    field='content', key=self.key_of(items[0]))

    # -- writing --------------------------------------------------------------
    def apply(self, plan):
        """The plan in batches: a mount table read once per step, never once per bind.

        Unmount what is deleted (then remove the files it wrote, and purge its volume if asked) or bound
        anew (one table), update the others in place, then make every new bind: mount each one and set
        its propagation, then read the table once to make them read-only and once more to verify all of
        them (:meth:`create_all`).
        """
        rebind = [self._rebind_needed(c, d) for c, d in plan.update]
        # Source paths that binds still use after this run: their files stay.
        deleted = {self.key_of(item) for item in plan.delete}
        in_use = {spec.config.get('source') for key, spec in self.specs.items() if key not in deleted}
        in_use.update(d.get('source') for d in plan.create + [d for _c, d in plan.update])
        self.delete_all(plan.delete, in_use)
        self.unbind_all([c for (c, _d), again in zip(plan.update, rebind) if again])
        self.update_all([pair for pair, again in zip(plan.update, rebind) if not again])
        self.create_all(plan.create + [d for (_c, d), again in zip(plan.update, rebind) if again])

    def create_all(self, items) -> None:
        """Make each bind; every one that is left in place has been verified, every one that failed is undone.

        Each bind is recorded, mounted and given its propagation in turn (through descriptors resolved
        inside its root, so a later target may go through an earlier bind); then all are made read-only
        where asked and verified (:meth:`set_attributes_all`). The first failure stops the mounting; what
        was mounted before it is still made read-only and verified, and the first error is raised after.
        """
        made, error = [], None
        for item in items:
            try:
                made.append(self._bind(item))
            except Exception as exc:  # pylint: disable=broad-exception-caught
                # Whatever it was, the binds already mounted must not stay writable when asked read-only.
                error = exc
                break
        failed = self.set_attributes_all(made, propagation=False)
        for bind, _exc in failed:
            self._undo(bind)  # the first error is what the run reports
        for bind in made:
            self.stale.discard(bind.key)
        self.table = None
        if failed:
            raise failed[0][1]
        if error is not None:
            raise error

    def _bind(self, item) -> _Bind:
        """Write content, make the volume, resolve the target inside the root, record the bind and mount it."""
        key = (item['root'], item['target'])
        what = self.describe(key)
        made = self.carried.pop(key, [])
        if item.get('content') is not None:
            made += [d for d in self.files.write(item['source'], item['content']) if d not in made]
        source = self.volumes.ensure(item) if item['volume'] is not None else item['source']
        src_fd = os.open(source, os.O_PATH | os.O_CLOEXEC)
        try:
            is_dir = stat.S_ISDIR(os.fstat(src_fd).st_mode)
            tgt_fd = self.resolver.create(item['root'], item['target'], directory=is_dir)
            try:
                if stat.S_ISDIR(os.fstat(tgt_fd).st_mode) != is_dir:
                    raise ResourceError('%s: source %s is a %s but the target is not' % (
                        what, source, 'directory' if is_dir else 'file'), field='target')
                where = fd_path(tgt_fd)
                # What is already at or below the target (as of the run's table): never counted as the bind's.
                before = {m.mount_id for m in self.mount_table().under(where)}
                spec = MountSpec('bind', fd_path(src_fd), where, 'none', self.fstab_options(item), item, made,
                                 extra={'volume_dir': self.volumes.directory(item['volume']) if item['volume'] else None,
                                        'before': sorted(before)})
                self.records.save(spec)
                try:
                    self.kernel.mount('/proc/self/fd/%d' % src_fd, '/proc/self/fd/%d' % tgt_fd, None,
                                      MS_BIND | (MS_REC if item['recursive'] else 0))
                except OSError:
                    self.records.remove(spec)
                    raise
            finally:
                os.close(tgt_fd)
        finally:
            os.close(src_fd)
        bind = _Bind(key, what, where, item, before, spec)
        try:
            # Now, before the next bind: a bind of a shared mount joins its peer group, and a later bind
            # made on this one (a target inside it) would propagate back to its source's peers.
            self.kernel.mount(None, where, None, PROPAGATION[item['propagation']])
        except OSError:
            self._undo(bind)
            raise
        return bind

    def _undo(self, bind) -> None:
        """Unmount a bind this run made and drop its record; if it cannot be unmounted, its record stays."""
        try:
            self.unmount(bind.what, bind.where, bind.item['recursive'])
        except (OSError, ResourceError):
            return
        self.records.remove(bind.spec)

    @staticmethod
    def fstab_options(item) -> list:
        return ['rbind' if item['recursive'] else 'bind', 'ro' if item['read_only'] else 'rw', item['propagation']]

    def set_attributes_all(self, binds, propagation=True) -> list:
        """Read-only (a bind remount of every mount a bind made) and propagation for each bind; then verify all.

        Two reads of the mount table for all BINDS: one to find what each bind made, one to verify.
        PROPAGATION False: already set (by :meth:`_bind`), only verified. Returns [(bind, error)] for
        those that failed, in the order of BINDS; the others are done.
        """
        failed = []
        if not binds:
            return failed
        table = self.kernel.mountinfo()
        tops = self._tops(table, binds)
        checked = []
        for bind in binds:
            try:
                for mount in self._mounts_of(table, tops, bind):
                    if mount.read_only != bind.item['read_only']:
                        flags = MS_REMOUNT | MS_BIND | (MS_RDONLY if bind.item['read_only'] else 0)
                        for option, flag in LOCKED_FLAGS.items():
                            if option in mount.options:
                                flags |= flag
                        self.kernel.mount(None, mount.mount_point, None, flags)
                if propagation:
                    self.kernel.mount(None, bind.where, None, PROPAGATION[bind.item['propagation']])
                checked.append(bind)
            except (OSError, ResourceError) as exc:
                failed.append((bind, exc))
        table = self.kernel.mountinfo()
        tops = self._tops(table, binds)
        for bind in checked:
            try:
                self._verify(table, tops, bind)
            except ResourceError as exc:
                failed.append((bind, exc))
        self.table = None
        order = {id(bind): index for index, bind in enumerate(binds)}
        return sorted(failed, key=lambda entry: order[id(entry[0])])

    def _tops(self, table, binds) -> set:
        """The ids of the top mounts of every bind of ours in TABLE: those in place and BINDS."""
        tops = set()
        for where in {spec.where for spec in self.specs.values()} | {bind.where for bind in binds}:
            top = table.at(where)
            if top is not None:
                tops.add(top.mount_id)
        return tops

    def _mounts_of(self, table, tops, bind) -> list:
        """The mounts BIND made: its top mount and what lies on it (:meth:`MountTable.subtree`), without what
        was there before it and without the other binds of this collection, which have their own settings."""
        top = table.at(bind.where)
        if top is None:
            raise ResourceError('%s: the bind mount at %s is gone after mounting' % (bind.what, bind.where))
        return [m for m in table.subtree(top, stop=tops - {top.mount_id}) if m.mount_id not in bind.exclude]

    def _verify(self, table, tops, bind) -> None:
        """What the kernel shows for BIND is what was asked: its mounts read-only or not, its top's propagation."""
        item, what = bind.item, bind.what
        mounts = self._mounts_of(table, tops, bind)
        wrong = [m.mount_point for m in mounts if m.read_only != item['read_only']]
        if wrong:
            raise ResourceError('%s: the kernel left %s %s after the remount' % (
                what, ', '.join(wrong), 'writable' if item['read_only'] else 'read-only'), field='read_only')
        top = mounts[0] if mounts else table.at(bind.where)
        if item['propagation'].lstrip('r') not in top.propagation.split(','):
            raise ResourceError('%s: asked for propagation %s, the kernel made it %s (runc#5390)' % (
                what, item['propagation'], top.propagation), field='propagation')

    def update_all(self, pairs) -> None:
        """Updates in place: content written through the source path, ownership, then read-only and propagation."""
        remounts = []
        for current, desired in pairs:
            key = (current['root'], current['target'])
            spec = self.specs[key]
            if desired.get('content') is not None:
                # Through the source path on the host: the same inode, so the bind shows it, read-only or not.
                made = self.files.write(desired['source'], desired['content'])
                if made:
                    spec.created.extend(made)
                    self.records.save(spec)
            if any(current[f] != desired[f] for f in desired if f != 'content'):
                if desired['volume'] is not None:
                    self.volumes.set_ownership(self.source_of(desired), desired)
                remounts.append(_Bind(key, self.describe(key), spec.where, desired, set(spec.extra.get('before', ())),
                                      spec))
            elif spec.config != desired:
                self._save_config(spec, desired)
        failed = self.set_attributes_all(remounts)
        not_done = {id(bind) for bind, _exc in failed}
        for bind in remounts:
            if id(bind) not in not_done:
                self._save_config(bind.spec, bind.item)
        if failed:
            raise failed[0][1]

    def _save_config(self, spec, desired) -> None:
        if spec.config != desired:
            spec.config = desired
            spec.options = self.fstab_options(desired)
            self.records.save(spec)

    def unbind_all(self, items) -> list:
        """Unmount each bind (from one mount table) and drop its record; return [(item, record)] of those unmounted.

        What a bind's record says was made for it (``created``) is kept for a bind made again in this run.
        """
        table = None
        if not self.lazy_unmount and any(item['recursive'] for item in items):
            table = self.kernel.mountinfo()
        done, gone = set(), []
        for item in items:
            key = (item['root'], item['target'])
            spec = self.specs.pop(key, None)
            if spec is None:
                continue
            self.unmount(self.describe(key), spec.where, item['recursive'], table, done)
            self.records.remove(spec)
            self.carried[key] = spec.created
            gone.append((item, spec))
        return gone

    def delete_all(self, items, in_use=()) -> None:
        """Unbind ITEMS for good: also remove the files they wrote and the directories made for them (when empty),
        and purge their volumes if asked (validate_plan has made sure no bind keeps them).

        A file whose source path another bind still uses (IN_USE) stays.
        """
        dirs = []
        for item, spec in self.unbind_all(items):
            self.carried.pop(self.key_of(item), None)
            if spec.config.get('content') is not None and spec.config['source'] not in in_use:
                # Ours: this collection wrote it (the record says so), and no bind shows it any more.
                self.files.remove(spec.config['source'])
            dirs.extend(spec.created)
            if self.purge and item['volume'] is not None:
                self.volumes.purge(item['volume'])
        remove_empty_dirs(dirs)


# -- the modules: what each accepts, and its main() once its AnsibleModule exists --------------------------------------
# One home for a module's argument spec, shared by the module and anatomy.containers.preview.

OVERLAY_MOUNT_ARGUMENT_SPEC = dict(
    state_argument_spec(dict(
        path=dict(type='path'),
        lower=dict(type='list', elements='path'),
        upper=dict(type='path'),
        work=dict(type='path'),
        options=dict(type='list', elements='str'),
    )),
    purge=dict(type='bool', default=False),
    lazy_unmount=dict(type='bool', default=False),
)

BIND_VOLUME_ARGUMENT_SPEC = dict(
    state_argument_spec(dict(
        target=dict(type='str'),
        root=dict(type='path'),
        volume=dict(type='str'),
        source=dict(type='path'),
        content=dict(type='str'),
        read_only=dict(type='bool'),
        propagation=dict(type='str', choices=['private', 'rprivate', 'slave', 'rslave', 'shared', 'rshared']),
        recursive=dict(type='bool'),
        owner=dict(type='str'),
        group=dict(type='str'),
        mode=dict(type='str'),
    )),
    volumes_root=dict(type='path', default=DEFAULT_VOLUMES_ROOT),
    purge=dict(type='bool', default=False),
    lazy_unmount=dict(type='bool', default=False),
)


def _kernel(module, reads):
    """The run's own mount Kernel; in a preview (check mode only), the mount table read once for its tasks."""
    return reads.mount_kernel() if check_mode_reads(module, reads) is not None else Kernel()


def run_overlay_mount(module, reads=None) -> None:
    """main() of anatomy.containers.overlay_mount, given its AnsibleModule (OVERLAY_MOUNT_ARGUMENT_SPEC)."""
    run_module(module, OverlayMount(_kernel(module, reads), purge=module.params['purge'],
                                    lazy_unmount=module.params['lazy_unmount']), record='overlay_mount')


def run_bind_volume(module, reads=None) -> None:
    """main() of anatomy.containers.bind_volume, given its AnsibleModule (BIND_VOLUME_ARGUMENT_SPEC)."""
    run_module(module, BindVolume(_kernel(module, reads), volumes_root=module.params['volumes_root'],
                                  purge=module.params['purge'], lazy_unmount=module.params['lazy_unmount']),
               record='bind_volume')
