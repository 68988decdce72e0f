"""The admin's ``ota`` commands for keys, the TUF repository and releases (docs/ota.md).

    ota keys init --dir KEYDIR
    ota keys rotate-root --keys KEYDIR [--repo DIR]
    ota repo init --keys KEYDIR [--repo DIR]
    ota repo refresh-timestamp --keys KEYDIR [--repo DIR] [--force-snapshot]
    ota repo renew-targets --keys KEYDIR [--keys KEYDIR2] [--repo DIR]
    ota release build --version V [--platform P] [--python 3.11] [--wheelhouse DIR] --out DIR
    ota release publish V --channel C --bundle PATH --keys KEYDIR [--keys KEYDIR2] [--repo DIR]

``--keys`` may be given more than once (the offline folder from the USB stick and HQ's online
one); ``--repo`` defaults to ``tuf/`` in HQ's data folder, from HQ's settings (``--hq-config``,
``HQ_*`` variables) as ``hq serve`` reads them. Exit codes as ``hq``'s: 0 done, 1 the work failed,
2 bad input. Results go to stdout, explanations to stderr in the admin's language.
"""

from __future__ import annotations

import argparse
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

from hq.i18n import Text, cli_language
from ota import keys as keyfiles
from ota import release
from ota.bundle import BundleError
from ota.repo import RepoError, Repository

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2
#: refresh-timestamp warns this long before root or targets (offline keys) expire
WARN_BEFORE = timedelta(days=14)

REGISTERED = Text(
    "registered release {version} ({target}) on {channel} at HQ; next: ota rollout start {version} --stages 1,10,50,100 --max-failure-rate 0.05",
    "已在总部登记版本 {version}（{target}，{channel}）；下一步：ota rollout start {version} --stages 1,10,50,100 --max-failure-rate 0.05",
)
NOT_REGISTERED = Text(
    "signed, but not registered at HQ ({reason}); on the HQ machine run: {command}",
    "已签名，但未在总部登记（{reason}）；请在总部服务器上运行：{command}",
)
KEYS_MADE = Text(
    "Made four keys in {folder}.\n"
    "  Move OFFLINE (USB stick kept in a safe; bring back only to publish or rotate): {offline}\n"
    "  HQ keeps ONLINE (so it can re-sign the timestamp daily): {online}\n"
    "Next: ota repo init --keys {folder}, then move the offline files away.",
    "已在 {folder} 生成四把密钥。\n"
    "  请移到离线保存（放在保险柜里的 U 盘；仅在发布或轮换时取回）：{offline}\n"
    "  总部保留在线密钥（用于每天重新签名时间戳）：{online}\n"
    "下一步：ota repo init --keys {folder}，然后把离线文件移走。",
)
REPO_MADE = Text(
    "TUF repository created in {path}; give kiosks {root} as their trusted root.",
    "已在 {path} 创建 TUF 仓库；请把 {root} 作为可信根分发给各自助机。",
)
REFRESHED = Text(
    "snapshot version {snapshot}, timestamp version {timestamp}",
    "快照版本 {snapshot}，时间戳版本 {timestamp}",
)
EXPIRING = Text(
    "warning: the {role} metadata expires at {expires}: renew it with the offline key "
    "({command}) before then, or kiosks stop updating",
    "警告：{role} 元数据将于 {expires} 过期：请在此之前用离线密钥续签（{command}），否则自助机将无法更新",
)
RENEWED = Text("targets metadata signed again as version {version}", "目标元数据已重新签名，版本 {version}")
ROTATED = Text(
    "root version {version} trusts the new root key {folder}/root.pem; the old key is kept as {retired}. "
    "Kiosks follow on their next check; move both files offline.",
    "根元数据版本 {version} 已信任新的根密钥 {folder}/root.pem；旧密钥保存为 {retired}。"
    "自助机在下次检查时自动跟进；请把两个文件都移到离线保存。",
)
PUBLISHED = Text(
    "published {name} ({length} bytes, sha256 {sha256}) on {channel}: targets v{targets}, "
    "snapshot v{snapshot}, timestamp v{timestamp}",
    "已发布 {name}（{length} 字节，sha256 {sha256}）到 {channel}：目标 v{targets}，快照 v{snapshot}，"
    "时间戳 v{timestamp}",
)
FAILED = Text("error: {detail}", "错误：{detail}")
NO_DEFAULT_REPO = Text(
    "cannot find HQ's data folder ({detail}); give --repo DIR",
    "找不到总部的数据文件夹（{detail}）；请用 --repo DIR 指定",
)


def _say(text: Text) -> None:
    print(text.pick(cli_language()), file=sys.stderr, flush=True)


def add_parsers(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
) -> argparse._SubParsersAction[argparse.ArgumentParser]:
    """``ota keys``, ``ota repo`` and ``ota release build|publish``; returns the ``release`` group so
    HQ's ``ota release register`` (``hq.ota_cli``) joins it."""
    keys_common = argparse.ArgumentParser(add_help=False)
    keys_common.add_argument(
        "--keys", type=Path, action="append", default=[], metavar="KEYDIR", help="a key folder (repeatable)"
    )
    repo_common = argparse.ArgumentParser(add_help=False)
    repo_common.add_argument("--repo", type=Path, help="the TUF repository folder (default: HQ data/tuf)")
    repo_common.add_argument(
        "--hq-config",
        "--config",
        dest="hq_config",
        type=Path,
        help="HQ's settings file (its data folder, database)",
    )

    keys = commands.add_parser("keys", help="the TUF signing keys").add_subparsers(
        dest="action", required=True
    )
    init = keys.add_parser("init", help="make root, targets, snapshot and timestamp keys")
    init.add_argument("--dir", type=Path, required=True, metavar="KEYDIR")
    keys.add_parser("rotate-root", parents=[keys_common, repo_common], help="replace the root key (root N+1)")

    repo = commands.add_parser("repo", help="HQ's TUF repository").add_subparsers(
        dest="action", required=True
    )
    repo.add_parser("init", parents=[keys_common, repo_common], help="create the repository")
    refresh = repo.add_parser(
        "refresh-timestamp", parents=[keys_common, repo_common], help="re-sign timestamp (and snapshot)"
    )
    refresh.add_argument("--force-snapshot", action="store_true", help="re-sign the snapshot too")
    repo.add_parser(
        "renew-targets", parents=[keys_common, repo_common], help="re-sign targets before they expire"
    )

    rel = commands.add_parser("release", help="build and publish releases").add_subparsers(
        dest="action", required=True
    )
    build = rel.add_parser("build", help="build a release bundle from this source tree")
    build.add_argument("--version", required=True, dest="release_version", metavar="V")
    build.add_argument("--platform", default=release.DEFAULT_PLATFORM)
    build.add_argument("--python", default=release.DEFAULT_PYTHON)
    build.add_argument("--wheelhouse", type=Path, help="take wheels only from this folder (no index)")
    build.add_argument("--source", type=Path, help="the source checkout (default: this one)")
    build.add_argument("--out", type=Path, required=True, metavar="DIR")
    pub = rel.add_parser(
        "publish", parents=[keys_common, repo_common], help="sign a bundle into the repository"
    )
    pub.add_argument("release_version", metavar="V")
    pub.add_argument("--channel", required=True)
    pub.add_argument("--bundle", type=Path, required=True)
    pub.add_argument("--db", metavar="URL", help="HQ's database, to register the release (as ota rollout)")
    pub.add_argument(
        "--no-register", action="store_true", help="only sign; register later with ota release register"
    )
    return rel


def default_repo(hq_config: Path | None) -> Path:
    """``tuf/`` in HQ's data folder, as HQ computes it from its settings."""
    from hq.api_tuf import repository_folder
    from hq.auth import identity_path
    from hq.settings import load_settings

    settings = load_settings(hq_config)
    return repository_folder(identity_path(settings.auth.identity_file, settings.database.url).parent)


def _repo_path(args: argparse.Namespace) -> Path:
    if args.repo is not None:
        path: Path = args.repo
        return path
    try:
        return default_repo(args.hq_config)
    except Exception as exc:  # settings, a PostgreSQL URL without identity file, no HQ installed
        raise _BadInput(NO_DEFAULT_REPO.format(detail=str(exc).splitlines()[0][:300])) from None


class _BadInput(Exception):
    def __init__(self, text: Text) -> None:
        super().__init__(text.en)
        self.text = text


def run(args: argparse.Namespace) -> int:
    try:
        return _run(args)
    except _BadInput as exc:
        _say(exc.text)
        return EXIT_BAD_INPUT
    except (keyfiles.KeyFileError, BundleError) as exc:
        _say(FAILED.format(detail=str(exc)))
        return EXIT_BAD_INPUT
    except (RepoError, release.ReleaseError, OSError) as exc:
        _say(FAILED.format(detail=str(exc)))
        return EXIT_FAILED


def _run(args: argparse.Namespace) -> int:
    command, action = args.command, args.action
    if command == "keys" and action == "init":
        made = keyfiles.init_keys(args.dir)
        _say(
            KEYS_MADE.format(
                folder=made.folder,
                offline=", ".join(f"{r}.pem" for r in keyfiles.OFFLINE_ROLES),
                online=", ".join(f"{r}.pem" for r in keyfiles.ONLINE_ROLES),
            )
        )
        for role, key in made.public.items():
            print(f"{role} {key.keyid}")
        return EXIT_OK
    if command == "release" and action == "build":
        built = release.build(
            args.release_version,
            args.out,
            platform=args.platform,
            python=args.python,
            wheelhouse=args.wheelhouse,
            source=args.source,
        )
        print(release.bundle_summary(built))
        return EXIT_OK
    if not args.keys:
        raise _BadInput(
            Text("give --keys KEYDIR (the folder ota keys init made)", "请用 --keys KEYDIR 指定密钥文件夹")
        )
    path = _repo_path(args)
    if command == "repo" and action == "init":
        repo = Repository.create(path, args.keys)
        _say(REPO_MADE.format(path=path, root=repo.metadata_dir / "1.root.json"))
        return EXIT_OK
    repo = Repository.open(path)
    if command == "repo" and action == "refresh-timestamp":
        snapshot, timestamp = repo.refresh_timestamp(args.keys, force_snapshot=args.force_snapshot)
        print(REFRESHED.format(snapshot=snapshot, timestamp=timestamp).pick(cli_language()))
        _warn_expiring(repo)
        return EXIT_OK
    if command == "repo" and action == "renew-targets":
        _say(RENEWED.format(version=repo.renew_targets(args.keys)))
        return EXIT_OK
    if command == "keys" and action == "rotate-root":
        if len(args.keys) != 1:
            raise _BadInput(
                Text(
                    "give exactly one --keys: the folder with root.pem",
                    "请只给一个 --keys：含 root.pem 的文件夹",
                )
            )
        version, retired = repo.rotate_root(args.keys[0])
        _say(ROTATED.format(version=version, folder=args.keys[0], retired=retired.name))
        return EXIT_OK
    if command == "release" and action == "publish":
        published = release.publish(args.release_version, args.channel, args.bundle, repo, args.keys)
        _say(
            PUBLISHED.format(
                name=published.name,
                length=published.length,
                sha256=published.sha256,
                channel=args.channel,
                targets=published.targets_version,
                snapshot=published.snapshot_version,
                timestamp=published.timestamp_version,
            )
        )
        print(published.path)
        if not args.no_register:
            return _register(args, published.name)
        return EXIT_OK
    raise AssertionError(f"unhandled command {command} {action}")  # pragma: no cover - argparse


def _register(args: argparse.Namespace, target: str) -> int:
    """After signing: record the release at HQ (``hq.rollouts.register_release``) when HQ's database
    is reachable from here; otherwise say plainly which command to run on the HQ machine."""
    from ota.bundle import read_manifest

    schema = read_manifest(args.bundle).min_store_schema
    command = (
        f"ota release register {args.release_version} --channel {args.channel} --target {target} "
        f"--min-store-schema {schema}"
    )
    try:
        from hq.ota_cli import RegisterUnavailable, register_published
        from hq.rollouts import RolloutError
    except ImportError:
        _say(NOT_REGISTERED.format(reason="HQ is not installed here", command=command))
        return EXIT_OK
    try:
        info = register_published(args.hq_config, args.db, args.release_version, args.channel, target, schema)
    except RegisterUnavailable as exc:
        _say(NOT_REGISTERED.format(reason=str(exc), command=command))
        return EXIT_OK
    except RolloutError as exc:
        _say(exc.text)
        return EXIT_FAILED
    _say(REGISTERED.format(version=info.version, channel=info.channel, target=info.target))
    return EXIT_OK


def _warn_expiring(repo: Repository) -> None:
    commands: dict[str, Any] = {
        "root": "ota keys rotate-root",
        "targets": "ota repo renew-targets",
        "snapshot": "ota repo refresh-timestamp --force-snapshot",
        "timestamp": "ota repo refresh-timestamp",
    }
    for role, expires in repo.expiring(WARN_BEFORE):
        if role in keyfiles.OFFLINE_ROLES:
            _say(EXPIRING.format(role=role, expires=expires.isoformat(), command=commands[role]))
