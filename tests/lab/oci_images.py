# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""OCI test images, built from real Debian packages, cached, and pushed into a lab's registry.

Built once under CACHE/oci-test-RECIPEID/ (rebuilt when the recipe changes; safe when several labs start at once):

    oci/NAME                        an OCI image layout per repository, its images by tag (ref name)
    python-docker-archive.tar       python:3-slim as `skopeo copy ... docker-archive:FILE:python:3-slim` writes it
                                    (uncompressed layers; RepoTags docker.io/library/python:3-slim)
    python-oci-archive.tar          python:3-slim as an oci-archive (ref name 3-slim)
    truncated-docker-archive.tar    the first half of python-docker-archive.tar
    images.json                     every image's manifest digest, layer digests and diff ids

The images (see IMAGES):

    python:3-slim   a Debian bookworm minbase root filesystem with python3, in 3 gzip layers: 1 the base system
                    (a debootstrap without python3), 2 what a second debootstrap with python3 added or changed, plus
                    srv/www/old.html, 3 a whiteout of etc/issue.net, srv/www made opaque, srv/www/index.html
                    (INDEX_HTML). Cmd python3 -m http.server 8080 in /srv/www.
    busybox:latest  one layer: this machine's static busybox with its applets as symlinks in bin/, etc/passwd,
                    etc/group, tmp. Cmd sh.
    many:80         the busybox layer and 79 tiny layers, layer i adding layers/i.txt ("i\\n").
    bad:escape      busybox and a layer with an entry ../escape.txt
    bad:type        busybox and a layer with an entry of tar type 'V' (a GNU volume header), which no unpacker supports
    bad:diffid      busybox, but the config's rootfs.diff_ids does not name the layer's uncompressed digest

The two debootstrap trees are cached apart (CACHE/oci-rootfs-SUITE-ID/{base,python}), so a change to how
layers are packed does not download Debian again. Layer tars are deterministic: sorted names, numeric owners
(no user names), whole-second mtimes of the files, gzip without a name or a time stamp. The same trees give
the same digests.
"""

from __future__ import annotations

import fcntl
import filecmp
import gzip
import hashlib
import io
import json
import os
import shutil
import stat
import subprocess
import tarfile
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .image import SUITE, debian_mirror

#: Bump when the debootstrap trees change (what they include, how they are cleaned).
ROOTFS_REVISION = 2
#: Bump when how the images are packed changes.
RECIPE_REVISION = 1

BUSYBOX = Path('/bin/busybox')
#: A fixed time for entries and history that have no file behind them (2026-01-01T00:00:00Z).
EPOCH = 1767225600
CREATED = '2026-01-01T00:00:00Z'
INDEX_HTML = b'<h1>anatomy lab: python:3-slim</h1>\n'
OLD_HTML = b'<h1>old: layer 2, hidden by the opaque srv/www of layer 3</h1>\n'
PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'

#: (repository, tag) of every image the build makes and push_images pushes.
IMAGES = (('python', '3-slim'), ('busybox', 'latest'), ('many', '80'),
          ('bad', 'escape'), ('bad', 'type'), ('bad', 'diffid'))
ARCHIVES = ('python-docker-archive.tar', 'python-oci-archive.tar', 'truncated-docker-archive.tar')

MANIFEST_TYPE = 'application/vnd.oci.image.manifest.v1+json'
CONFIG_TYPE = 'application/vnd.oci.image.config.v1+json'
LAYER_TYPE = 'application/vnd.oci.image.layer.v1.tar+gzip'
REF_NAME = 'org.opencontainers.image.ref.name'

#: A signature policy of our own for skopeo: the machine's /etc/containers/policy.json is not ours to rely on.
POLICY = {'default': [{'type': 'insecureAcceptAnything'}]}
#: Where skopeo run by root keeps its blob info cache (a BoltDB file that every copy on the machine updates).
CONTAINERS_STATE = '/var/lib/containers'

#: Environment for the tools that talk to a lab registry: no proxy may carry lab traffic out of the lab.
NO_PROXY_ENV = {k: v for k, v in os.environ.items() if 'proxy' not in k.lower()}


def skopeo(args: list, policy: Path, netns_argv=None) -> subprocess.CompletedProcess:
    """Run skopeo ARGS (in the lab namespace if NETNS_ARGV is Lab.netns_argv) with POLICY (see write_policy).

    It runs in a mount namespace of its own where CONTAINERS_STATE is an empty tmpfs: its blob info cache starts
    empty and goes with it. Else every copy would update (and fsync) the machine's cache file, lab after lab
    (which costs a push of many:80 1.4 s of its 3.3 s), and remember where blobs were in labs long gone."""
    # skopeo itself makes the directory on its first copy; here it is made only to have a mount point.
    os.makedirs(CONTAINERS_STATE, mode=0o700, exist_ok=True)
    argv = ['skopeo', '--policy', str(policy), *args]
    if netns_argv is not None:
        argv = netns_argv(argv)
    script = 'mount -t tmpfs -o size=64m,mode=0700 anatomy-lab-skopeo %s && exec "$@"' % CONTAINERS_STATE
    result = subprocess.run(['unshare', '--mount', '--propagation', 'private', 'sh', '-c', script, 'sh', *argv],
                            capture_output=True, text=True, env=NO_PROXY_ENV, check=False)
    if result.returncode != 0:
        raise RuntimeError('skopeo %s failed (%d): %s' % (' '.join(args), result.returncode, result.stderr.strip()))
    return result


def write_policy(path: Path) -> Path:
    path.write_text(json.dumps(POLICY))
    return path


def _architecture() -> str:
    arch = subprocess.run(['dpkg', '--print-architecture'], check=True, capture_output=True, text=True).stdout.strip()
    return {'i386': '386', 'armhf': 'arm', 'ppc64el': 'ppc64le'}.get(arch, arch)


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, 'rb') as source:
        for chunk in iter(lambda: source.read(1 << 20), b''):
            digest.update(chunk)
    return digest.hexdigest()


def rootfs_recipe() -> dict:
    return {'suite': SUITE, 'variant': 'minbase', 'python': ['python3'], 'revision': ROOTFS_REVISION}


def recipe() -> dict:
    return {'rootfs': rootfs_recipe(), 'revision': RECIPE_REVISION, 'busybox': _sha256_file(BUSYBOX),
            'images': ['%s:%s' % image for image in IMAGES]}


def _id(value: dict) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()[:12]


def _prune(cache: Path, pattern: str, keep: Path) -> None:
    """Remove builds of older recipes that no running process names (a push from an older checkout)."""
    cmdlines = []
    for entry in Path('/proc').iterdir():
        if entry.name.isdigit():
            try:
                cmdlines.append((entry / 'cmdline').read_bytes().decode(errors='replace'))
            except OSError:
                pass
    for old in cache.glob(pattern):
        if old != keep and not old.name.endswith('.partial') and not any(str(old) + '/' in c for c in cmdlines):
            shutil.rmtree(old, ignore_errors=True)


# -- layer tars ----------------------------------------------------------------

class _Hashing:
    """A write-only stream that hashes and counts what passes through it to the next one."""

    def __init__(self, sink):
        self.sink = sink
        self.sha256 = hashlib.sha256()
        self.size = 0

    def write(self, data):
        self.sha256.update(data)
        self.size += len(data)
        self.sink.write(data)
        return len(data)

    def flush(self):
        pass


def _sort_key(arcname: str):
    # Component-wise: a directory comes right before what it holds.
    return arcname.split('/')


class Layer:
    """A gzip layer tar written into a blob store; entries are sorted before they are written."""

    def __init__(self):
        self.entries = []   # (arcname, kind, payload)

    def path(self, arcname: str, source: Path) -> 'Layer':
        """An entry from the file system: its type, mode, numeric owner and mtime as they are on disk."""
        self.entries.append((arcname, 'path', source))
        return self

    def dir(self, arcname: str, mode: int = 0o755, mtime: int = EPOCH) -> 'Layer':
        info = tarfile.TarInfo(arcname)
        info.type, info.mode, info.mtime = tarfile.DIRTYPE, mode, mtime
        self.entries.append((arcname, 'raw', (info, None)))
        return self

    def file(self, arcname: str, data: bytes, mode: int = 0o644, mtime: int = EPOCH) -> 'Layer':
        info = tarfile.TarInfo(arcname)
        info.mode, info.mtime, info.size = mode, mtime, len(data)
        self.entries.append((arcname, 'raw', (info, data)))
        return self

    def symlink(self, arcname: str, target: str, mtime: int = EPOCH) -> 'Layer':
        info = tarfile.TarInfo(arcname)
        info.type, info.linkname, info.mode, info.mtime = tarfile.SYMTYPE, target, 0o777, mtime
        self.entries.append((arcname, 'raw', (info, None)))
        return self

    def whiteout(self, arcname: str) -> 'Layer':
        """Remove ARCNAME of a lower layer (an empty file .wh.NAME beside it)."""
        parent, name = arcname.rpartition('/')[::2]
        return self.file((parent + '/' if parent else '') + '.wh.' + name, b'', mode=0o644)

    def opaque(self, directory: str) -> 'Layer':
        """Hide everything lower layers have in DIRECTORY (which this layer must also hold)."""
        return self.file(directory + '/.wh..wh..opq', b'', mode=0o644)

    def raw(self, info: tarfile.TarInfo, data: bytes | None = None) -> 'Layer':
        """An entry exactly as given, whatever its name or type (for the bad images)."""
        self.entries.append((info.name, 'raw', (info, data)))
        return self

    def write(self, blobs: Path) -> dict:
        """Write the layer into BLOBS (a blobs/sha256 directory): {'digest', 'size', 'diff_id'}."""
        blobs.mkdir(parents=True, exist_ok=True)
        handle, partial = tempfile.mkstemp(prefix='.layer-', suffix='.partial', dir=blobs)
        with os.fdopen(handle, 'wb') as out:
            compressed = _Hashing(out)
            # No file name and no time stamp in the gzip header: the same tar gives the same blob.
            with gzip.GzipFile(filename='', mode='wb', fileobj=compressed, mtime=0, compresslevel=6) as gz:
                plain = _Hashing(gz)
                with tarfile.open(fileobj=plain, mode='w|', format=tarfile.PAX_FORMAT) as tar:
                    for arcname, kind, payload in sorted(self.entries, key=lambda e: _sort_key(e[0])):
                        if kind == 'path':
                            self._add_path(tar, arcname, payload)
                        else:
                            info, data = payload
                            tar.addfile(info, io.BytesIO(data) if data is not None else None)
        digest = compressed.sha256.hexdigest()
        os.chmod(partial, 0o644)
        os.rename(partial, blobs / digest)
        return {'digest': 'sha256:' + digest, 'size': compressed.size, 'diff_id': 'sha256:' + plain.sha256.hexdigest()}

    @staticmethod
    def _add_path(tar: tarfile.TarFile, arcname: str, source: Path) -> None:
        # gettarinfo makes a second name of an inode already in this tar a hard link to the first.
        info = tar.gettarinfo(str(source), arcname)
        info.uname = info.gname = ''
        info.mtime = int(info.mtime)
        if info.isreg():
            with open(source, 'rb') as data:
                tar.addfile(info, data)
        else:
            tar.addfile(info)


# -- root file system trees ----------------------------------------------------

#: Directories whose contents never go into an image (what a runtime mounts there).
_EMPTY_DIRS = ('dev', 'proc', 'sys', 'run', 'tmp')


def _walk(tree: Path) -> dict:
    """{relative path: lstat} of a tree, without the contents of _EMPTY_DIRS and without sockets."""
    found = {}
    for top, dirs, files in os.walk(tree):
        rel_top = os.path.relpath(top, tree)
        rel_top = '' if rel_top == '.' else rel_top + '/'
        if rel_top.rstrip('/') in _EMPTY_DIRS:
            dirs[:] = []
            continue
        for name in dirs + files:
            st = os.lstat(os.path.join(top, name))
            if not stat.S_ISSOCK(st.st_mode):
                found[rel_top + name] = st
    return found


def _differs(old_tree: Path, new_tree: Path, rel: str, old: os.stat_result, new: os.stat_result) -> bool:
    if (old.st_mode, old.st_uid, old.st_gid) != (new.st_mode, new.st_uid, new.st_gid):
        return True
    if stat.S_ISREG(new.st_mode):
        return old.st_size != new.st_size or not filecmp.cmp(old_tree / rel, new_tree / rel, shallow=False)
    if stat.S_ISLNK(new.st_mode):
        return os.readlink(old_tree / rel) != os.readlink(new_tree / rel)
    if stat.S_ISCHR(new.st_mode) or stat.S_ISBLK(new.st_mode):
        return old.st_rdev != new.st_rdev
    return False


def diff_layer(old_tree: Path, new_tree: Path) -> Layer:
    """A layer that turns OLD_TREE into NEW_TREE: what was added or changed (with the directories above it, as
    NEW_TREE has them), and a whiteout for the topmost of what was removed. Changes of mtime alone do not count."""
    old, new = _walk(old_tree), _walk(new_tree)
    changed = {rel for rel, st in new.items() if rel not in old or _differs(old_tree, new_tree, rel, old[rel], st)}
    for rel in list(changed):
        parent = rel.rpartition('/')[0]
        while parent and parent not in changed:
            changed.add(parent)
            parent = parent.rpartition('/')[0]
    layer = Layer()
    for rel in changed:
        layer.path(rel, new_tree / rel)
    for rel in old:
        parent = rel.rpartition('/')[0]
        if rel not in new and (not parent or (parent in new and stat.S_ISDIR(new[parent].st_mode))):
            layer.whiteout(rel)
    return layer


def tree_layer(tree: Path) -> Layer:
    layer = Layer()
    for rel in _walk(tree):
        layer.path(rel, tree / rel)
    return layer


class RootfsTrees:
    """Two debootstrap trees of SUITE, cached: CACHE/oci-rootfs-SUITE-ID/base (minbase) and python (with python3)."""

    def __init__(self, cache: Path):
        self.cache = cache
        self.dir = cache / ('oci-rootfs-%s-%s' % (SUITE, _id(rootfs_recipe())))
        self.base = self.dir / 'base'
        self.python = self.dir / 'python'
        self.complete = self.dir / 'complete.json'

    def ready(self) -> bool:
        return self.complete.is_file()

    def build(self, log) -> None:
        """Build the trees (the caller holds the build lock)."""
        partial = self.dir.with_name(self.dir.name + '.partial')
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        mirror = debian_mirror()
        log('lab: debootstrap of the OCI test images\' trees (%s minbase, with and without python3)' % SUITE)
        started = time.monotonic()
        # Both at once: each downloads what it needs; the machine has two cores and the mirror is the bottleneck.
        with ThreadPoolExecutor(2) as pool:
            runs = [pool.submit(subprocess.run,
                                ['debootstrap', '--variant=minbase', *include, SUITE, str(partial / name), mirror],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
                    for name, include in (('base', []), ('python', ['--include=python3']))]
            for run in runs:
                result = run.result()
                if result.returncode != 0:
                    raise RuntimeError('debootstrap failed (%d): %s' % (result.returncode, result.stderr[-2000:]))
        for name in ('base', 'python'):
            self._clean(partial / name)
        (partial / 'complete.json').write_text(json.dumps(rootfs_recipe(), indent=2) + '\n')
        shutil.rmtree(self.dir, ignore_errors=True)
        partial.rename(self.dir)
        log('lab: OCI test trees ready in %.0f s' % (time.monotonic() - started))
        _prune(self.cache, 'oci-rootfs-*', self.dir)

    @staticmethod
    def _clean(tree: Path) -> None:
        """What debootstrap took from this machine, and apt's indexes, do not belong in an image."""
        fixed = {
            'etc/hostname': 'localhost\n',
            'etc/resolv.conf': '',
            'etc/hosts': '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n',
        }
        for rel, text in fixed.items():
            path = tree / rel
            if path.is_symlink():
                path.unlink()
            path.write_text(text)
            path.chmod(0o644)
            os.utime(path, (EPOCH, EPOCH))
        # debootstrap leaves the packages it installed in apt's cache.
        for rel in ('var/lib/apt/lists', 'var/cache/apt'):
            for path in (tree / rel).rglob('*'):
                if (path.is_file() or path.is_symlink()) and path.name != 'lock':
                    path.unlink()


# -- images --------------------------------------------------------------------

class Layout:
    """An OCI image layout on disk (oci-layout, index.json, blobs/sha256): images added by tag."""

    def __init__(self, path: Path):
        self.path = path
        self.blobs = path / 'blobs' / 'sha256'
        self.blobs.mkdir(parents=True, exist_ok=True)
        (path / 'oci-layout').write_text(json.dumps({'imageLayoutVersion': '1.0.0'}))
        self.manifests = []

    def blob(self, data: bytes) -> dict:
        digest = hashlib.sha256(data).hexdigest()
        (self.blobs / digest).write_bytes(data)
        return {'digest': 'sha256:' + digest, 'size': len(data)}

    def take(self, layer: dict, store: Path) -> None:
        """A layer blob of the shared store, linked in (hard links: the layouts share the data)."""
        target = self.blobs / layer['digest'].split(':', 1)[1]
        if not target.exists():
            os.link(store / target.name, target)

    def add(self, tag: str, layers: list, config: dict, history: list, diff_ids: list | None = None) -> dict:
        config = dict(config, rootfs={'type': 'layers', 'diff_ids': diff_ids or [x['diff_id'] for x in layers]},
                      history=history)
        config_descriptor = dict(self.blob(_canonical(config)), mediaType=CONFIG_TYPE)
        manifest = {
            'schemaVersion': 2, 'mediaType': MANIFEST_TYPE, 'config': config_descriptor,
            'layers': [{'mediaType': LAYER_TYPE, 'digest': x['digest'], 'size': x['size']} for x in layers],
        }
        descriptor = dict(self.blob(_canonical(manifest)), mediaType=MANIFEST_TYPE, annotations={REF_NAME: tag})
        self.manifests.append(descriptor)
        (self.path / 'index.json').write_bytes(_canonical({'schemaVersion': 2, 'manifests': self.manifests}))
        return {'manifest': descriptor['digest'], 'config': config_descriptor['digest'],
                'layers': [x['digest'] for x in layers], 'diff_ids': config['rootfs']['diff_ids']}


def _canonical(value) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(',', ':')).encode()


def _history(created_by: str, empty_layer: bool = False, comment: str | None = None) -> dict:
    entry = {'created': CREATED, 'created_by': created_by}
    if empty_layer:
        entry['empty_layer'] = True
    if comment:
        entry['comment'] = comment
    return entry


def _config(arch: str, **config) -> dict:
    return {'created': CREATED, 'architecture': arch, 'os': 'linux', 'config': config}


class TestImages:
    """The OCI test images of the lab, cached under CACHE/oci-test-RECIPEID (see the module's doc)."""

    __test__ = False  # not a pytest class

    def __init__(self, cache: Path):
        self.cache = cache
        self.trees = RootfsTrees(cache)
        self.recipe = recipe()
        self.id = _id(self.recipe)
        self.dir = cache / ('oci-test-%s' % self.id)
        self.complete = self.dir / 'images.json'

    def ready(self) -> bool:
        return self.complete.is_file()

    def layout(self, name: str) -> Path:
        """The OCI layout of repository NAME: skopeo's oci:LAYOUT:TAG."""
        return self.dir / 'oci' / name

    def archive(self, name: str) -> Path:
        """One of ARCHIVES, e.g. python-docker-archive.tar."""
        if name not in ARCHIVES:
            raise KeyError(name)
        return self.dir / name

    def digests(self) -> dict:
        """{"NAME:TAG": {"manifest", "config", "layers", "diff_ids"}} of the built images."""
        return json.loads(self.complete.read_text())['images']

    def ensure(self, log=print) -> Path:
        """Build the images unless the cache has them. Safe when several labs start at once."""
        if self.ready():
            return self.dir
        self.cache.mkdir(parents=True, exist_ok=True)
        with open(self.cache / '.oci-build.lock', 'w') as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not self.trees.ready():
                self.trees.build(log)
            if not self.ready():
                self._build(log)
        return self.dir

    def _build(self, log) -> None:
        started = time.monotonic()
        log('lab: packing the OCI test images')
        partial = self.dir.with_name(self.dir.name + '.partial')
        shutil.rmtree(partial, ignore_errors=True)
        store = partial / 'layers'
        arch = _architecture()
        images = {}
        layouts = {}

        def add(name, tag, layers, config, history, diff_ids=None):
            layout = layouts.get(name) or layouts.setdefault(name, Layout(partial / 'oci' / name))
            for layer in layers:
                layout.take(layer, store)
            images['%s:%s' % (name, tag)] = layout.add(tag, layers, config, history, diff_ids)

        base, python = self.trees.base, self.trees.python
        with ThreadPoolExecutor(2) as pool:
            # The big one apart: gzip holds the GIL only part of the time.
            first = pool.submit(tree_layer(base).write, store)
            second = (diff_layer(base, python)
                      .dir('srv/www', mtime=EPOCH).file('srv/www/old.html', OLD_HTML, mtime=EPOCH)).write(store)
            first = first.result()
        srv = os.lstat(python / 'srv')
        third = (Layer().path('etc', python / 'etc').whiteout('etc/issue.net')
                 .dir('srv', mode=stat.S_IMODE(srv.st_mode), mtime=int(srv.st_mtime))
                 .dir('srv/www', mtime=EPOCH).opaque('srv/www').file('srv/www/index.html', INDEX_HTML, mtime=EPOCH)
                 ).write(store)
        add('python', '3-slim', [first, second, third],
            _config(arch, Env=[PATH, 'LANG=C.UTF-8'], Cmd=['python3', '-m', 'http.server', '8080'],
                    WorkingDir='/srv/www', ExposedPorts={'8080/tcp': {}}, Volumes={'/data': {}}),
            [_history('debootstrap --variant=minbase %s' % SUITE, comment='the base system'),
             _history('debootstrap --variant=minbase --include=python3 %s' % SUITE, comment='python3, srv/www/old.html'),
             _history('rm etc/issue.net; rm -r srv/www; echo ... > srv/www/index.html'),
             _history('CMD ["python3" "-m" "http.server" "8080"]', empty_layer=True)])

        busybox = self._busybox_layer().write(store)
        bb_history = [_history('busybox-static: bin/busybox and its applets, etc/passwd, etc/group, tmp')]
        add('busybox', 'latest', [busybox], _config(arch, Env=[PATH], Cmd=['sh']),
            bb_history + [_history('CMD ["sh"]', empty_layer=True)])

        tiny = [Layer().dir('layers').file('layers/%d.txt' % i, b'%d\n' % i).write(store) for i in range(1, 80)]
        add('many', '80', [busybox] + tiny,
            _config(arch, Env=[PATH], Cmd=['sh', '-c', 'cat /layers/*.txt | wc -l; sleep 3600']),
            bb_history + [_history('echo %d > layers/%d.txt' % (i, i)) for i in range(1, 80)])

        escape = Layer().raw(_info('../escape.txt', data=b'escaped\n'), b'escaped\n').write(store)
        add('bad', 'escape', [busybox, escape], _config(arch, Env=[PATH], Cmd=['sh']),
            bb_history + [_history('an entry ../escape.txt')])
        volume = _info('volume-label', kind=b'V')
        weird = Layer().raw(volume).file('after-volume.txt', b'after\n').write(store)
        add('bad', 'type', [busybox, weird], _config(arch, Env=[PATH], Cmd=['sh']),
            bb_history + [_history("an entry of tar type 'V'")])
        add('bad', 'diffid', [busybox], _config(arch, Env=[PATH], Cmd=['sh']), bb_history,
            diff_ids=['sha256:' + hashlib.sha256(b'not the layer').hexdigest()])
        shutil.rmtree(store)
        packed = time.monotonic()

        self._archives(partial)
        (partial / 'images.json').write_text(json.dumps({'recipe': self.recipe, 'images': images}, indent=2) + '\n')
        shutil.rmtree(self.dir, ignore_errors=True)
        partial.rename(self.dir)
        log('lab: OCI test images ready at %s (packed in %.1f s, archives in %.1f s)'
            % (self.dir, packed - started, time.monotonic() - packed))
        _prune(self.cache, 'oci-test-*', self.dir)

    @staticmethod
    def _busybox_layer() -> Layer:
        applets = subprocess.run([str(BUSYBOX), '--list'], check=True, capture_output=True, text=True).stdout.split()
        layer = Layer().dir('bin').path('bin/busybox', BUSYBOX)
        for applet in applets:
            if applet != 'busybox' and '/' not in applet:
                layer.symlink('bin/' + applet, 'busybox')
        return (layer.dir('etc')
                .file('etc/passwd', b'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n')
                .file('etc/group', b'root:x:0:\nnogroup:x:65534:\n')
                .dir('tmp', mode=0o1777))

    def _archives(self, partial: Path) -> None:
        policy = write_policy(partial / 'policy.json')
        source = 'oci:%s:3-slim' % (partial / 'oci' / 'python')
        for dest in ('docker-archive:%s:python:3-slim' % (partial / 'python-docker-archive.tar'),
                     'oci-archive:%s:3-slim' % (partial / 'python-oci-archive.tar')):
            skopeo(['copy', '--quiet', source, dest], policy)
        docker = partial / 'python-docker-archive.tar'
        with open(docker, 'rb') as whole, open(partial / 'truncated-docker-archive.tar', 'wb') as half:
            half.write(whole.read(docker.stat().st_size // 2))
        policy.unlink()


def _info(name: str, kind: bytes = tarfile.REGTYPE, data: bytes = b'') -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.mtime, info.size = kind, 0o644, EPOCH, len(data)
    return info


def push_images(images: TestImages, cert_dir: Path, registry: str, netns_argv, log=print) -> float:
    """Copy every image of IMAGES into REGISTRY (HOST:PORT, reached in the lab namespace through NETNS_ARGV), with
    skopeo trusting the CA in CERT_DIR. Returns the seconds it took."""
    started = time.monotonic()
    policy = write_policy(cert_dir.parent / 'policy.json')

    def push(image):
        name, tag = image
        skopeo(['copy', '--quiet', '--retry-times', '2', '--dest-cert-dir', str(cert_dir),
                'oci:%s:%s' % (images.layout(name), tag), 'docker://%s/%s:%s' % (registry, name, tag)],
               policy, netns_argv)

    with ThreadPoolExecutor(3) as pool:
        list(pool.map(push, IMAGES))
    elapsed = time.monotonic() - started
    log('lab: test images pushed to %s in %.1f s' % (registry, elapsed))
    return elapsed
