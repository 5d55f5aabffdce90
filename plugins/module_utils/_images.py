# -*- coding: utf-8 -*-
# Copyright (c) 2026, anatomy.containers developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""OCI images on a host: pulled or imported with skopeo, their layers unpacked once into a content-addressed store.

This is a private module_util: its API may change without notice.

The store lives under ``STATE_ROOT/images``::

    layers/HEX/           a layer unpacked for overlayfs, named by its diff ID (the digest of its uncompressed
                          tar), shared by every image and workload that uses it; a directory of that name is
                          complete: layers are unpacked under layers/.partial-HEX and renamed when whole
    images/HEX.json       an image, named by its ID (the digest of its config, as Docker's image IDs): the
                          names that point at it (each with its manifest and registry digests), its layers
                          bottom first, its config
    index.json            every name with its image, rewritten after each change: what the roles' host read takes
    tmp/                  skopeo's copies while a pull runs (removed after it, and left-overs at the next run)

Everything under the store is this collection's: an image record carries the owner mark, and a layer directory
is only ever removed when no image record names it and no mounted overlay uses it.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile

from ansible_collections.anatomy.containers.plugins.module_utils._resource import (
    OWNER_MARK, Resource, ResourceError, run_module, state_argument_spec,
)
from ansible_collections.anatomy.containers.plugins.module_utils._mounts import Kernel, overlay_layers
from ansible_collections.anatomy.containers.plugins.module_utils._layer_tar import LayerError, MEDIA_TYPES, unpack_layer
from ansible_collections.anatomy.containers.plugins.module_utils._linux import syncfs

DEFAULT_STATE_ROOT = '/var/lib/anatomy'
SOURCES = ('registry', 'oci', 'oci-archive', 'docker-archive')
PULL_POLICIES = ('missing', 'always')
#: The parts of an image's config a workload takes (Docker's names).
CONFIG_FIELDS = ('Entrypoint', 'Cmd', 'Env', 'WorkingDir', 'User', 'ExposedPorts', 'Volumes', 'StopSignal', 'Labels')
MANIFEST_TYPES = ('application/vnd.oci.image.manifest.v1+json', 'application/vnd.docker.distribution.manifest.v2+json')
#: A reference as Docker writes one: [registry[:port]/]path[:tag][@algorithm:hex].
REFERENCE_RE = re.compile(r'^[a-z0-9]+(?:[._-][a-z0-9]+)*(?::[0-9]+)?(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*'
                          r'(?::[\w][\w.-]{0,127})?(?:@sha256:[0-9a-f]{64})?$')
DIGEST_RE = re.compile(r'^sha256:[0-9a-f]{64}$')
GOARCH = {'x86_64': 'amd64', 'aarch64': 'arm64', 'armv7l': 'arm', 'i686': '386', 'ppc64le': 'ppc64le',
          's390x': 's390x', 'riscv64': 'riscv64'}


def store_dir(state_root: str) -> str:
    return os.path.join(str(state_root).rstrip('/') or '/', 'images')


def layer_path(state_root: str, diff_id: str) -> str:
    """Where the layer with this diff ID is unpacked: a workload's lower dir."""
    return os.path.join(store_dir(state_root), 'layers', diff_id.split(':', 1)[-1])


def index_path(state_root: str) -> str:
    return os.path.join(store_dir(state_root), 'index.json')


def split_reference(name: str) -> tuple:
    """(repository, tag or None, digest or None) of a reference."""
    rest, _sep, digest = name.partition('@')
    slash = rest.rfind('/')
    colon = rest.rfind(':')
    if colon > slash:
        return rest[:colon], rest[colon + 1:], digest or None
    return rest, None, digest or None


def registry_of(name: str) -> str:
    """The registry a reference names, as Docker reads it: a first component with a '.' or a ':' (or localhost) is a
    host, anything else is a repository on Docker Hub."""
    first, slash, _rest = name.partition('/')
    if slash and ('.' in first or ':' in first or first == 'localhost'):
        return first
    return 'docker.io'


def _sha256_file(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, 'rb') as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b''):
            digest.update(chunk)
    return 'sha256:' + digest.hexdigest()


def _write_json(path: str, data) -> None:
    """Written whole or not at all: a temporary file renamed into place."""
    directory = os.path.dirname(path)
    handle, temporary = tempfile.mkstemp(prefix='.', suffix='.tmp', dir=directory)
    try:
        with os.fdopen(handle, 'w') as out:
            json.dump(data, out, indent=1, sort_keys=True)
            out.write('\n')
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


class Skopeo:
    """skopeo, as this module runs it: one place for the options of the source, and for its errors."""

    def __init__(self, binary: str = 'skopeo', timeout: int = 600):
        self.binary = binary
        self.timeout = timeout

    def _run(self, argv, what):
        try:
            done = subprocess.run([self.binary, '--command-timeout', '%ds' % self.timeout] + argv,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=self.timeout + 30, check=False)
        except FileNotFoundError:
            raise ResourceError('%s: skopeo is not installed on this host (Debian package skopeo)' % what)
        except subprocess.TimeoutExpired:
            raise ResourceError('%s: skopeo did not finish in %d s' % (what, self.timeout))
        if done.returncode != 0:
            raise ResourceError('%s: %s' % (what, self.reason(done.stderr.decode('utf-8', 'replace'))
                                            or 'skopeo failed with status %d' % done.returncode))
        return done.stdout

    @staticmethod
    def reason(stderr: str) -> str:
        """What skopeo says went wrong, without its log framing (time=... level=fatal msg="...")."""
        lines = [line.strip() for line in stderr.strip().splitlines() if line.strip()]
        for line in reversed(lines):
            found = re.search(r'level=fatal msg="((?:[^"\\]|\\.)*)"', line)
            if found:
                text = found.group(1).replace('\\"', '"').replace('\\\\', '\\')
                # "Error parsing image name \"docker://...\": " says nothing the task does not.
                return re.sub(r'^Error parsing image name "[^"]*": ', '', text)
        return ' '.join(lines[-3:])

    @staticmethod
    def source(item: dict) -> str:
        if item['source'] == 'registry':
            repository, _tag, digest = split_reference(item['name'])
            pin = item.get('digest') or digest
            # skopeo takes a tag or a digest, not both: a pin wins.
            return 'docker://' + (repository + '@' + pin if pin else item['name'])
        return '%s:%s' % (item['source'], item['path'])

    @staticmethod
    def options(item: dict, prefix: str, scratch: str) -> list:
        """The source's TLS and credential options, their files in SCRATCH; the password goes through an auth file,
        never argv."""
        argv = []
        if item['source'] != 'registry':
            return argv
        if item.get('insecure'):
            argv.append('--%stls-verify=false' % prefix)
        if item.get('ca_file'):
            cert_dir = tempfile.mkdtemp(dir=scratch)
            shutil.copyfile(item['ca_file'], os.path.join(cert_dir, 'ca.crt'))
            argv.append('--%scert-dir=%s' % (prefix, cert_dir))
        if item.get('username'):
            auth = base64.b64encode(('%s:%s' % (item['username'], item.get('password') or '')).encode()).decode()
            handle, authfile = tempfile.mkstemp(dir=scratch, suffix='.json')
            with os.fdopen(handle, 'w') as out:
                json.dump({'auths': {registry_of(item['name']): {'auth': auth}}}, out)
            argv.append('--%sauthfile=%s' % (prefix, authfile))
        return argv

    def inspect(self, item: dict, scratch: str) -> dict:
        """What the source holds now, without copying it (a read): {'repo_digest', 'manifest_digest', 'config',
        'config_bytes'}. The manifest digest is known only when the source's top manifest is the image's own."""
        what = 'image %r' % item['name']
        argv = self.options(item, '', scratch)
        raw = self._run(['inspect', '--raw'] + argv + [self.source(item)], what)
        config_bytes = self._run(['inspect', '--config', '--raw'] + argv + [self.source(item)], what)
        try:
            config = json.loads(config_bytes)
            manifest = json.loads(raw)
        except ValueError:
            raise ResourceError('%s: its manifest or config is not JSON' % what)
        digest = 'sha256:' + hashlib.sha256(raw).hexdigest()
        return {'repo_digest': digest, 'config': config, 'config_bytes': config_bytes,
                'manifest_digest': digest if isinstance(manifest, dict) and manifest.get('mediaType') in MANIFEST_TYPES
                and item['source'] != 'docker-archive' else None}

    def copy(self, item: dict, layout: str, scratch: str) -> None:
        self._run(['copy', '--quiet'] + self.options(item, 'src-', scratch) + [self.source(item), 'oci:%s:image' % layout],
                  'image %r' % item['name'])


def image_view(config: dict) -> dict:
    """The parts of an image config the store keeps: CONFIG_FIELDS, layers' diff IDs, platform."""
    section = config.get('config') or {}
    return {
        'config': {field: section[field] for field in CONFIG_FIELDS if section.get(field) not in (None, [], {}, '')},
        'layers': list((config.get('rootfs') or {}).get('diff_ids') or []),
        'architecture': config.get('architecture'),
        'os': config.get('os'),
    }


class Image(Resource):
    """An image name on the host, and the image it points at."""

    kind = 'image'
    key = 'name'
    defaults = {'source': 'registry', 'pull': 'missing', 'insecure': False}
    INPUT = ('name', 'source', 'path', 'digest', 'username', 'password', 'ca_file', 'insecure', 'pull')
    #: Whether files the input names are checked on this machine (the module's own run: the host).
    checks_host = True

    def __init__(self, state_root: str = DEFAULT_STATE_ROOT, prune: bool = False, skopeo=None, kernel=None):
        self.state_root = str(state_root)
        self.store = store_dir(state_root)
        self.prune = prune
        self.skopeo = skopeo or Skopeo()
        self.kernel = kernel
        self._inspected = {}
        self._pruned = []

    def path(self, *parts) -> str:
        return os.path.join(self.store, *parts)

    # -- reading --------------------------------------------------------------
    def records(self) -> dict:
        """Image ID -> record, for the records that carry our mark."""
        records = {}
        try:
            names = sorted(os.listdir(self.path('images')))
        except FileNotFoundError:
            return records
        for entry in names:
            if not entry.endswith('.json') or entry.startswith('.'):
                continue
            try:
                with open(self.path('images', entry)) as handle:
                    record = json.load(handle)
            except (OSError, ValueError):
                continue
            if isinstance(record, dict) and record.get('owner') == OWNER_MARK and record.get('id'):
                records[record['id']] = record
        return records

    def read(self):
        owned = []
        for record in self.records().values():
            for name in record.get('names') or []:
                owned.append(self.view(name, record))
        return owned, set()

    def view(self, name: str, record: dict) -> dict:
        present = all(os.path.isdir(layer_path(self.state_root, diff_id)) for diff_id in record['layers'])
        digests = (record.get('refs') or {}).get(name) or {}
        return {'name': name, 'id': record['id'], 'manifest_digest': digests.get('manifest_digest'),
                'repo_digest': digests.get('repo_digest'),
                'layers': list(record['layers']), 'config': record.get('config') or {},
                'architecture': record.get('architecture'), 'complete': present}

    # -- validation -----------------------------------------------------------
    def normalize(self, item):
        name = item.get('name')
        what = self.describe(name)
        # merged on a name already here brings the image's own fields along: only the input counts.
        item = {field: self.defaults.get(field) if item.get(field) is None else item[field] for field in self.INPUT}
        if not isinstance(name, str) or not REFERENCE_RE.match(name) or len(name) > 255:
            raise ResourceError('%s: name must be a reference like registry.example:5000/python:3-slim (lower-case '
                                'repository, optional tag and @sha256 digest)' % what, field='name')
        if item['source'] not in SOURCES:
            raise ResourceError('%s: source must be one of %s' % (what, ', '.join(SOURCES)), field='source')
        if item['pull'] not in PULL_POLICIES:
            raise ResourceError('%s: pull must be one of %s' % (what, ', '.join(PULL_POLICIES)), field='pull')
        if item['digest'] is not None and not DIGEST_RE.match(str(item['digest'])):
            raise ResourceError('%s: digest must be sha256: and 64 hex digits, got %r' % (what, item['digest']),
                                field='digest')
        pinned = split_reference(name)[2]
        if pinned and item['digest'] and pinned != item['digest']:
            raise ResourceError('%s: the name pins %s, digest says %s' % (what, pinned, item['digest']), field='digest')
        item['digest'] = item['digest'] or pinned
        if item['source'] == 'registry':
            if item['path']:
                raise ResourceError('%s: path is for the oci, oci-archive and docker-archive sources' % what, field='path')
        else:
            if not item['path'] or not os.path.isabs(item['path']):
                raise ResourceError('%s: source %s needs path, an absolute path on the host' % (what, item['source']),
                                    field='path')
            if self.checks_host and not os.path.exists(item['path']):
                raise ResourceError('%s: %s does not exist on the host' % (what, item['path']), field='path')
            if item['username'] or item['ca_file'] or item['insecure']:
                raise ResourceError('%s: username, ca_file and insecure are for the registry source' % what,
                                    field='source')
        if item['password'] and not item['username']:
            raise ResourceError('%s: password needs username' % what, field='password')
        if self.checks_host and item['ca_file'] and not os.path.isfile(item['ca_file']):
            raise ResourceError('%s: ca_file %s is not a file on the host' % (what, item['ca_file']), field='ca_file')
        item['insecure'] = bool(item['insecure'])
        return item

    def differs(self, current, desired):
        if desired['digest']:
            return desired['digest'] not in (current['manifest_digest'], current['repo_digest']) or not current['complete']
        if not current['complete']:
            return True
        if desired['pull'] == 'always':
            found = self.inspect(desired)
            if desired['source'] == 'registry':
                return found['repo_digest'] != current['repo_digest']
            return self.config_id(found) != current['id']
        return False

    @staticmethod
    def config_id(found: dict) -> str:
        """The image ID: the digest of its config as the source holds it."""
        return 'sha256:' + hashlib.sha256(found['config_bytes']).hexdigest()

    def inspect(self, item: dict) -> dict:
        """The source's digest and config, read once a run per name (check mode previews with it)."""
        if item['name'] not in self._inspected:
            # Outside the store: a lookup (check mode's too) writes nothing under the state root.
            scratch = tempfile.mkdtemp(prefix='anatomy-image-')
            try:
                self._inspected[item['name']] = self.skopeo.inspect(item, scratch)
            finally:
                shutil.rmtree(scratch, ignore_errors=True)
        return self._inspected[item['name']]

    def validate_plan(self, plan, current):
        # A missing image is looked up before anything is pulled: an unknown tag, a registry that does not answer
        # or wrong credentials fail the whole run, in check mode too.
        for item in plan.create:
            self.check_platform(item, self.inspect(item)['config'])
        in_use = self.layers_in_use()
        remaining = self.records()
        for item in plan.delete:
            record = remaining.get(current[item['name']]['id'])
            if record is None:
                continue
            record['names'] = [name for name in record['names'] if name != item['name']]
            if record['names']:
                continue
            used = [diff_id for diff_id in record['layers'] if layer_path(self.state_root, diff_id) in in_use]
            if used:
                raise ResourceError('%s: the overlay at %s uses its layers; remove the workloads that run it first' % (
                    self.describe(item['name']), in_use[layer_path(self.state_root, used[0])]), key=item['name'])

    def check_platform(self, item, config):
        host = GOARCH.get(os.uname().machine, os.uname().machine)
        if config.get('architecture') and config['architecture'] != host:
            raise ResourceError('%s: the image is for %s/%s, this host is linux/%s' % (
                self.describe(item['name']), config.get('os'), config['architecture'], host), key=item['name'])

    def layers_in_use(self) -> dict:
        """Layer dir -> mount point, for every overlay mounted now (ours or not)."""
        used = {}
        if self.kernel is None:
            return used
        for mount in self.kernel.mountinfo().mounts:
            if mount.fstype == 'overlay':
                for lower in overlay_layers(mount)['lower']:
                    if os.path.isabs(lower):
                        used.setdefault(os.path.realpath(lower), mount.mount_point)
        return used

    def predict(self, current, plan):
        by_name = {item['name']: item for item in current}
        for item in plan.delete:
            by_name.pop(item['name'], None)
        for item in plan.create + [desired for _current, desired in plan.update]:
            found = self.inspect(item)
            view = image_view(found['config'])
            by_name[item['name']] = {'name': item['name'], 'id': self.config_id(found), 'manifest_digest': found['manifest_digest'],
                                     'repo_digest': found['repo_digest'] if item['source'] == 'registry' else None,
                                     'layers': view['layers'], 'config': view['config'],
                                     'architecture': view['architecture'], 'complete': True}
        return self.sort(list(by_name.values()))

    # -- writing --------------------------------------------------------------
    @contextlib.contextmanager
    def scratch(self):
        os.makedirs(self.path('tmp'), mode=0o700, exist_ok=True)
        directory = tempfile.mkdtemp(dir=self.path('tmp'))
        try:
            yield directory
        finally:
            shutil.rmtree(directory, ignore_errors=True)
            with contextlib.suppress(OSError):
                os.rmdir(self.path('tmp'))

    @contextlib.contextmanager
    def lock(self):
        os.makedirs(self.store, mode=0o700, exist_ok=True)
        with open(self.path('.lock'), 'a') as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            yield

    def apply(self, plan):
        with self.lock():
            self.clean_leftovers()
            for item in plan.delete:
                self.unname(item['name'])
            for item in plan.create + [desired for _current, desired in plan.update]:
                self.pull(item)
            if plan.delete or self.prune:
                self._pruned = self.remove_unused_layers()
            self.write_index()

    def clean_leftovers(self):
        """What an interrupted run left: skopeo's copies and half-unpacked layers, never trusted."""
        shutil.rmtree(self.path('tmp'), ignore_errors=True)
        try:
            entries = os.listdir(self.path('layers'))
        except FileNotFoundError:
            return
        for entry in entries:
            if entry.startswith('.partial-'):
                shutil.rmtree(self.path('layers', entry), ignore_errors=True)

    def pull(self, item):
        what = self.describe(item['name'])
        for directory in ('layers', 'images'):
            os.makedirs(self.path(directory), mode=0o700, exist_ok=True)
        with self.scratch() as scratch:
            repo_digest = self.inspect(item)['repo_digest'] if item['source'] == 'registry' else None
            layout = os.path.join(scratch, 'oci')
            self.skopeo.copy(item, layout, scratch)
            manifest_digest, manifest, config_bytes = self.read_layout(layout, what)
            config = json.loads(config_bytes)
            self.check_platform(item, config)
            view = image_view(config)
            if len(view['layers']) != len(manifest['layers']):
                raise ResourceError('%s: the manifest has %d layers, the config %d diff IDs' % (
                    what, len(manifest['layers']), len(view['layers'])))
            if item['digest'] and item['digest'] not in (manifest_digest, repo_digest):
                raise ResourceError('%s: digest %s does not match the image the source holds (%s)' % (
                    what, item['digest'], repo_digest or manifest_digest))
            unpacked = []
            try:
                for descriptor, diff_id in zip(manifest['layers'], view['layers']):
                    final = layer_path(self.state_root, diff_id)
                    if os.path.isdir(final) or any(diff_id == done[0] for done in unpacked):
                        continue
                    partial = self.path('layers', '.partial-' + diff_id.split(':', 1)[-1])
                    shutil.rmtree(partial, ignore_errors=True)
                    blob = os.path.join(layout, 'blobs', *descriptor['digest'].split(':', 1))
                    try:
                        unpack_layer(blob, descriptor.get('mediaType', ''), partial, descriptor['digest'], diff_id)
                    except LayerError as exc:
                        raise ResourceError('%s: %s' % (what, exc))
                    unpacked.append((diff_id, partial, final))
                if unpacked:
                    # The layers' data is on disk before their names say they are whole.
                    syncfs(self.path('layers'))
                for _diff_id, partial, final in unpacked:
                    os.rename(partial, final)
            finally:
                for _diff_id, partial, _final in unpacked:
                    shutil.rmtree(partial, ignore_errors=True)
            # The ID is the digest of the config as the source holds it: skopeo rewrites a docker-archive's config
            # for the OCI layout (check mode sees the source's).
            image_id = self.config_id(self.inspect(item)) if item['source'] == 'docker-archive' \
                else 'sha256:' + hashlib.sha256(config_bytes).hexdigest()
            if item['source'] == 'docker-archive':
                # skopeo writes the manifest a docker save tarball does not have: its digest names nothing.
                manifest_digest = None
            self.unname(item['name'])
            records = self.records()
            record = records.get(image_id) or {'owner': OWNER_MARK, 'id': image_id, 'names': []}
            # Digests belong to a name: the same image imported from a tarball has no registry digest.
            refs = dict(record.get('refs') or {})
            refs[item['name']] = {'manifest_digest': manifest_digest, 'repo_digest': repo_digest}
            record.update(view, refs=refs, names=sorted(refs))
            _write_json(self.path('images', image_id.split(':', 1)[1] + '.json'), record)

    @staticmethod
    def read_layout(layout: str, what: str) -> tuple:
        """(manifest digest, manifest, config bytes) of the one image skopeo wrote, each blob checked."""
        def blob(descriptor, kind):
            digest = descriptor.get('digest', '')
            if not DIGEST_RE.match(digest):
                raise ResourceError('%s: its %s has an unsupported digest %r' % (what, kind, digest))
            path = os.path.join(layout, 'blobs', *digest.split(':', 1))
            if _sha256_file(path) != digest:
                raise ResourceError('%s: its %s does not match its digest %s' % (what, kind, digest))
            with open(path, 'rb') as handle:
                return handle.read()
        with open(os.path.join(layout, 'index.json')) as handle:
            index = json.load(handle)
        manifests = index.get('manifests') or []
        if len(manifests) != 1:
            raise ResourceError('%s: expected one manifest, the source gave %d' % (what, len(manifests)))
        if manifests[0].get('mediaType') not in MANIFEST_TYPES:
            raise ResourceError('%s: unsupported manifest type %r' % (what, manifests[0].get('mediaType')))
        manifest = json.loads(blob(manifests[0], 'manifest'))
        for descriptor in manifest.get('layers') or []:
            if descriptor.get('mediaType') not in MEDIA_TYPES:
                raise ResourceError('%s: layer %s has the unsupported media type %r' % (
                    what, descriptor.get('digest'), descriptor.get('mediaType')))
        return manifests[0]['digest'], manifest, blob(manifest.get('config') or {}, 'config')

    def unname(self, name: str) -> None:
        """The name no longer points at its image; an image left with no name is forgotten (its layers stay)."""
        for image_id, record in self.records().items():
            if name in record.get('names', []):
                record['names'] = [other for other in record['names'] if other != name]
                record.get('refs', {}).pop(name, None)
                path = self.path('images', image_id.split(':', 1)[1] + '.json')
                if record['names']:
                    _write_json(path, record)
                else:
                    os.unlink(path)

    def remove_unused_layers(self) -> list:
        """Layers no image names and no mounted overlay uses: what prune and deleted remove."""
        wanted = {diff_id.split(':', 1)[-1] for record in self.records().values() for diff_id in record['layers']}
        in_use = self.layers_in_use()
        removed = []
        try:
            entries = sorted(os.listdir(self.path('layers')))
        except FileNotFoundError:
            return removed
        for entry in entries:
            path = self.path('layers', entry)
            if entry in wanted or entry.startswith('.') or path in in_use or not os.path.isdir(path):
                continue
            # Renamed out of the way first: a layer is either whole under its name or gone.
            doomed = self.path('layers', '.partial-' + entry)
            os.rename(path, doomed)
            shutil.rmtree(doomed)
            removed.append('sha256:' + entry)
        return removed

    def write_index(self):
        index = {}
        for record in self.records().values():
            for name in record.get('names') or []:
                view = self.view(name, record)
                index[name] = {key: view[key] for key in ('id', 'layers', 'config', 'manifest_digest', 'repo_digest')}
        if index or os.path.exists(index_path(self.state_root)):
            os.makedirs(self.store, mode=0o700, exist_ok=True)
            _write_json(index_path(self.state_root), {'owner': OWNER_MARK, 'images': index})

    def finish(self, result, check_mode):
        """The module's own return values: the layers removed (or, in check mode, to be removed) as no longer used.

        With prune, unused layers go even when no name changed; without it, only those a deleted image left."""
        if result.get('gathered') is not None:
            return
        if check_mode:
            pruned = []
            if self.prune or any(item not in result['after'] for item in result['before']):
                wanted = {diff_id for item in result['after'] for diff_id in item['layers']}
                in_use = self.layers_in_use()
                pruned = ['sha256:' + entry for entry in self.layer_dirs()
                          if 'sha256:' + entry not in wanted and self.path('layers', entry) not in in_use]
        elif self.prune and not self._pruned and os.path.isdir(self.store):
            with self.lock():
                self.clean_leftovers()
                pruned = self.remove_unused_layers()
        else:
            pruned = self._pruned
        result['pruned_layers'] = pruned
        if pruned:
            result['changed'] = True

    def layer_dirs(self) -> list:
        try:
            return sorted(entry for entry in os.listdir(self.path('layers'))
                          if not entry.startswith('.') and os.path.isdir(self.path('layers', entry)))
        except FileNotFoundError:
            return []


# -- the module: what it accepts, and its main() once its AnsibleModule exists -----------------------------------------

IMAGE_ARGUMENT_SPEC = dict(
    state_argument_spec(dict(
        name=dict(type='str'),
        source=dict(type='str', choices=list(SOURCES)),
        path=dict(type='path'),
        digest=dict(type='str'),
        username=dict(type='str'),
        password=dict(type='str', no_log=True),
        ca_file=dict(type='path'),
        insecure=dict(type='bool'),
        pull=dict(type='str', choices=list(PULL_POLICIES)),
    )),
    state_root=dict(type='path', default=DEFAULT_STATE_ROOT),
    prune=dict(type='bool', default=False),
    timeout=dict(type='int', default=600),
)


def run_image(module) -> None:
    """main() of anatomy.containers.image, given its AnsibleModule (IMAGE_ARGUMENT_SPEC)."""
    params = module.params
    resource = Image(params['state_root'], params['prune'], Skopeo(timeout=params['timeout']), Kernel())
    run_module(module, resource, finish=lambda result: resource.finish(result, module.check_mode))
