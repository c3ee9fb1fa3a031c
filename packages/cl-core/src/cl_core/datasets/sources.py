"""Where every data set and system tool of the project comes from: one source chain for all loaders.

A data set is looked for, in this order:

1. an installed package (Debian, npm, pip, e.g. ``/usr/share/datasets/fashion-mnist``);
2. the folder given as ``data_dir`` (``--data-dir``) or by ``$CL_DATA_DIR``, laid out as
   ``shared/data`` (``sts/semeval``, ``sts/sick2014``, ``heco/<name>``, ``hh-rlhf``,
   ``fashion-mnist``, ...); a ``data_dir`` that is itself the data set's folder is used as given;
3. the cache folder ``$CL_CACHE_DIR`` (default ``~/.cache/contrastive``), same layout;
4. when online, its canonical public download, checksum-verified and written into the cache
   atomically (streamed to a temporary file in the same folder, verified, then ``os.replace``d), so
   a broken or truncated download never leaves a file the next run trusts.

Offline and absent, :func:`resolve_dataset` raises :class:`DataUnavailableError` with one line
naming the ways to get the data. A source that failed is not tried again in the same process, and
connections time out after :data:`CONNECT_TIMEOUT_S` seconds, so an offline machine fails in
seconds. ``CL_OFFLINE=1`` skips downloads altogether. System tools (espeak-ng, flite) are found on
``PATH``. :func:`requirement_status` never downloads (``cl-bench --check-data`` uses it).

Requirement names (:func:`all_requirements`), each with its licence and canonical source in
:data:`DATASETS` / :data:`TOOLS`:

- ``fashion-mnist``: Fashion-MNIST (MIT); Debian ``dataset-fashion-mnist``; torchvision's mirror
  and md5s.
- ``sts``: SemEval STS 2012-2016 test sets; ``sick``: SICK 2014 (CC BY-NC-SA 3.0); both as laid out
  by github.com/brmson/dataset-sts.
- ``wordnet``: WordNet 3.0 (WordNet licence); Debian ``wordnet-base`` or NLTK's copy; no download.
- ``heco-acm``, ``heco-dblp``, ``heco-aminer``, ``heco-freebase``: the HeCo release graphs
  (github.com/liun-online/HeCo).
- ``hh-rlhf``: Anthropic HH-RLHF harmless-base test split (MIT; Hugging Face).
- ``emoji``: npm ``emoji-datasource-google`` 16 (MIT, images Apache 2.0; the npm registry).
- ``asterisk-prompts``: Asterisk core sound prompts (CC BY-SA 3.0); Debian packages; no download.
- tools ``espeak-ng`` and ``flite`` (Debian packages of those names).

This module imports only the standard library.

Example:
    >>> from cl_core.datasets.sources import requirement_status
    >>> status = requirement_status("fashion-mnist")
    >>> status.kind
    'dataset'
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import os
import re
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from cl_core.cli import UserFacingError

DATA_DIR_ENV = "CL_DATA_DIR"
CACHE_DIR_ENV = "CL_CACHE_DIR"
OFFLINE_ENV = "CL_OFFLINE"
DEFAULT_CACHE_DIR = Path("~/.cache/contrastive")
#: Seconds to wait for a connection (and for each read): an offline machine fails in seconds.
CONNECT_TIMEOUT_S = 5.0
_CHUNK = 1 << 20
_VARIABLE = re.compile(r"\$(\w+)")


class DataUnavailableError(UserFacingError):
    """A data set or tool is neither installed, nor in the data folder or cache, nor downloadable.

    The message is one line naming the ways to get it.
    """


@dataclass(frozen=True)
class RemoteFile:
    """One file of a canonical download: ``url`` saved as ``path`` (relative to the data set's
    folder), verified by ``checksum`` (``"sha256:<hex>"``, ``"md5:<hex>"``, ``"sha512:<hex>"``)."""

    url: str
    path: str
    checksum: str


@dataclass(frozen=True)
class InstalledLocation:
    """A folder an installed package puts the data set in; ``$VAR`` and ``~`` are expanded (a
    location naming an unset variable is skipped). ``markers`` replaces the data set's markers
    (absolute markers name files outside the folder)."""

    folder: str
    markers: tuple[str, ...] | None = None


@dataclass(frozen=True)
class DatasetSource:
    """A data set: what it is, how to recognise its folder and where to get it.

    Attributes:
        name: the requirement name (``cl-bench`` rows list it in ``BenchDataset.requires``).
        title: what the data set is, its licence and its canonical source, in one line.
        subdir: its folder under ``data_dir`` and under the cache folder.
        markers: files (relative to the folder; ``*`` globs allowed) that must all exist.
        installed: folders of installed packages, searched first.
        install_hint: how to install the package (empty when none carries the data set).
        files: the canonical download, file by file.
        archive: the canonical download as one ``.tgz`` whose ``archive_root`` member becomes the
            folder (npm tarballs hold ``package/``).
    """

    name: str
    title: str
    subdir: str
    markers: tuple[str, ...]
    installed: tuple[InstalledLocation, ...] = ()
    install_hint: str = ""
    files: tuple[RemoteFile, ...] = ()
    archive: RemoteFile | None = None
    archive_root: str = "package"

    @property
    def downloadable(self) -> bool:
        return bool(self.files) or self.archive is not None


@dataclass(frozen=True)
class ToolSource:
    """A system program a recipe runs (found on ``PATH``)."""

    name: str
    title: str
    binary: str
    install_hint: str


@dataclass(frozen=True)
class RequirementStatus:
    """Whether one data set or tool is available here, where, and how to get it (one line)."""

    name: str
    kind: Literal["dataset", "tool"]
    available: bool
    where: str | None
    how_to_get: str


# Fashion-MNIST: torchvision's mirror and md5s (torchvision.datasets.FashionMNIST.resources).
_FASHION_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
_FASHION_FILES = (
    ("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
    ("train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe"),
    ("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79"),
    ("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310"),
)

# SemEval STS 2012-2016 and SICK 2014 as laid out by brmson/dataset-sts, the source of the
# shared/data/sts copy (its READMEs are in that folder). The sha256s are taken from that local
# copy: no checksum is published upstream. SentEval's get_transfer_data.bash fetches the same
# pairs as zip files of STS.input/STS.gs files (another layout), hence not used here.
_DATASET_STS = "https://raw.githubusercontent.com/brmson/dataset-sts/master/data/sts/"
_SEMEVAL_FILES = (
    ("2012/MSRpar.test.tsv", "0152db6de47cb0c309482425118281b8afad65a066ad961c96930d511d62dba1"),
    ("2012/OnWN.test.tsv", "8148c4aea8e70e39c033e16cc0765735669aba0f5de053ac0061f2cf47cf366f"),
    (
        "2012/SMTeuroparl.test.tsv",
        "b70cbc8262db9fe178341a2e427d713be2fb440b1cccc1736cd0e66f0ac8ff59",
    ),
    ("2012/SMTnews.test.tsv", "7745b5a11faab3098eacd8ba7ea4530f932d1ee5f82e10d6d1f1b8b03cd8868b"),
    ("2013/FNWN.test.tsv", "ac1fcaf6042fc7f8984b0d6145b5a4028da10c9adc55754ea1ad64d6dd3f6633"),
    ("2013/OnWN.test.tsv", "66aeefda9084f544e2d54e51026d2952e2cb05bd9b5fcf4c6d4efe57dfa3e4fc"),
    ("2013/headlines.test.tsv", "9b40330c1b70017b62a48404bf050211f5cfd990e249fc1b8146163bdcb9924a"),
    ("2014/OnWN.test.tsv", "072ffe5052223b45018a588c3f06d48a3b16bf7a7ea7e9f235fce89342ec8f3f"),
    (
        "2014/deft-forum.test.tsv",
        "1bdea70a0f1b44b7697ede61b80a9a566fad928150567a8a46235104847ef484",
    ),
    ("2014/deft-news.test.tsv", "faf2fc618e57f4acac25a7cdb16b131a2055ed4fcead3cf475e411b0482dc51d"),
    ("2014/headlines.test.tsv", "85e98e7c2ed1e95e2a0d1d4047f50497f3a2ca196c0004afa416320f73d46efd"),
    ("2014/images.test.tsv", "c17677ae0fdd667330b8b41585666d2181d1f4b20013cfdd81f5d0f2811b9165"),
    (
        "2014/tweet-news.test.tsv",
        "be2ee005c28f3c4359cef6d35323ef5ce32443a85a6bad21cdb30f320054db37",
    ),
    (
        "2015/answers-forums.test.tsv",
        "896cd9f26fad335775688ee9829910bb2e7240fb44d89b2e1cc467a73239f65d",
    ),
    (
        "2015/answers-students.test.tsv",
        "e3bd0696f2ff514276ddcc830655b84d7d5e48868f71aa3009d6c5ff90756cee",
    ),
    ("2015/belief.test.tsv", "29cc4918023aabd33a270f475914885fa7dd24c9811279d9e0face14f973a7e4"),
    ("2015/headlines.test.tsv", "d45bf6e97f44afc817b39c1e51492cfadce163b0076611f7c85472c8e05271d1"),
    ("2015/images.test.tsv", "820fe1c8cfb1349ba7d7bca3bf1ed38776d9d0d1b193124a8666e3a5f440c5a9"),
    (
        "2016/answer-answer.test.tsv",
        "b7152d6d12e7145734b452a9757593259b987bbae0558e769a1ded3e992ba12b",
    ),
    ("2016/headlines.test.tsv", "454c0fa9fdbb133042e84cb7b85f0562b60016d70c1f3caf4b01bd51e6b58a3f"),
    (
        "2016/plagiarism.test.tsv",
        "9f556fe320ce95c7b43db74894f0120dcb4dc9745c7ae9936b49fba04a52524a",
    ),
    (
        "2016/postediting.test.tsv",
        "e412867621bbabf17d4b44c99f84bb222448eabaef34b37243baed1687812b81",
    ),
    (
        "2016/question-question.test.tsv",
        "0b136074715d26425b1b18f566ba319598efa12e1601fd048ad496937c484c06",
    ),
)
_SICK_FILES = (
    ("SICK_train.txt", "266cf8047149bd1d68138dd30439f3122bff30069740ac6705bb6197d9f1b48e"),
    ("SICK_trial.txt", "5a88cfb62f8c6bd2a3cce0f2421ba2cb8c2be5ab4a800f6f01e2c64aafb7db56"),
    ("SICK_test_annotated.txt", "2b8aa806658d6fc23c6824c83776c2d4fee7556000817b5ec0f982861413b7d0"),
)

# The HeCo release (github.com/liun-online/HeCo, data/<name>/), pinned to a commit. The sha256s
# are taken from the shared/data/heco copy (none is published upstream). The nei_*.npy neighbour
# lists are left out: the loader does not read them.
_HECO = (
    "https://raw.githubusercontent.com/liun-online/HeCo/"
    "d43375ce3318b1671e0d0a68b6853e8d32306ab9/data/"
)
_HECO_FILES: dict[str, tuple[tuple[str, str], ...]] = {
    "acm": (
        ("a_feat.npz", "e2f2ac8d357310149fc7badbf32ea0b171dec25aad6c37ec45de592666c65555"),
        ("p_feat.npz", "9e1019dfceaaabb19ee5b5f09de3147ffbaa818b43c3fc3f92bdfaf4ed5f02f4"),
        ("labels.npy", "019284b3e6a58fc8ebd432fb99aaaf183ad41dbf56b8ca7af0b56dca9dd844b5"),
        ("pa.txt", "e67385fc13c3b3b624d81de7eb6e4245d9aeafa063c5466c6fab0f151bcb84d6"),
        ("ps.txt", "3da7615ef5567c5f7f1ab9ec770c4b4b8b6a54790baa1cda3d4499329dfc22d5"),
        ("pap.npz", "3f25894497558f74356448f1a504c946efef9f23e7beb74d38bc9ecf95a4dbb6"),
        ("psp.npz", "cd25669b884825155487308c7d4adb42d99edbc843215438219ad551f86c8f3e"),
        ("pos.npz", "d683afe2d8cad6b5d99724f027a03bf82a078ecf8835e8e9cb58a7962127e642"),
        ("test_20.npy", "eb90e38c882009c6439d749d160d39ed64f8813e9f672c02be54993914934afa"),
        ("test_40.npy", "f73d7e23459dd654a7567ee8bf123849f400096f8fac558dc37033d3fdc11aa6"),
        ("test_60.npy", "5181ccdeacc54b88ed53681ba9f2c789cc6d67a499f40a68ac6827a96932b976"),
        ("train_20.npy", "6bf4c1cef638f3ffe1826091b9be7fbff23a4935dfbde03c24b492d264d67684"),
        ("train_40.npy", "98239282e69e9775a9b13bc54598cc780eca31dcaeb81963efbbd4c6c3e51435"),
        ("train_60.npy", "5b86f56415b84d1faa8c8f864cd37272589ec4ffff1b0ca347d4c39ee38dcc02"),
        ("val_20.npy", "4280dccb661a50196502a39973a462919399fcfcd97b1d43581dfa9ca02d1b5d"),
        ("val_40.npy", "19fb1e72b76bc24da95423d1a83583a42fe5b62d69b2b197312f630ff5096202"),
        ("val_60.npy", "e234b6c1e19445ed6cc3694a273b943bbded8e847a9d0246f18d59f76fb8cd5d"),
    ),
    "dblp": (
        ("a_feat.npz", "997876bf8d90d29fdb90bf4801a9909893a9ee5646a85aeca079ce167595ec41"),
        ("p_feat.npz", "99c3d1836c44cda016f790d1cdbcc76fed729e48b9e2a9332eac145960716d9f"),
        ("t_feat.npz", "462ea84b5eebfd4883910d0d15afff53e960ae8a80d7d62591f86a8d61fb5467"),
        ("labels.npy", "817efdc3ebb9e96067b8770dad5894b06ecabde2ac95d4b17443985f0439fda7"),
        ("pa.txt", "94cf38a92733d21664f55907305773bb6fb90dd9d1579392517596488f061382"),
        ("pc.txt", "316182e11f19fddfc3a01ebd6541134a7c3931ee62262e638be607bb3f9768e4"),
        ("pt.txt", "78f3d6f9a528ed112a2d29bd2a672cdf13a03779a87ce89856e6a622eda280b8"),
        ("apa.npz", "db86d949728d422cf388741d3cd80280e0ab79ac27242b3d0a0a0635a476a3bb"),
        ("apcpa.npz", "25181174771506d9636daae4eb98fe048c61654cd1280cf35315c7c4adde0f56"),
        ("pos.npz", "593aba2899e5ae6e70da9943fc7e55fd07bfc7ad9bb92755fbd10f41ac979632"),
        ("test_20.npy", "a7fc6b67e477df8301915065b116fb7742d99f28323a2bf8bcb57663a2d5c490"),
        ("test_40.npy", "9af7116d1d11e656e4fc64dc11601353a3f37cad8fb9ffe8d71cf16d7e2a7ca6"),
        ("test_60.npy", "52122be025ae02256f82376bc62d1ba74083a4473a211e89a1389d67ca6e68bb"),
        ("train_20.npy", "85f0e91265931c8b1433ed7bd04e7e8f4c8c4246784d4443c147d6f24cccc709"),
        ("train_40.npy", "82cead2b36410b52729e2034c0e75de55779e718e4a35f7cc0a31b25526d8c2b"),
        ("train_60.npy", "47086d378beda443b1a2aa1bb2d681e5a6d2b3e819a3e9850e365ea1f8f9b819"),
        ("val_20.npy", "6c06b017a4c45c7cd9d01c67fb409336ddcd5c076edb9c90792cc2d027565d38"),
        ("val_40.npy", "b4c0b94ed81eeb28fe9bf6dd4a057de9093aa512caf4197165a2634568e7b2d5"),
        ("val_60.npy", "7ba309a9daec8bd5d92e217cecc6a22d8547b7b0193a8a30855fffd41636cec6"),
    ),
    "aminer": (
        ("labels.npy", "51a0500d6f74ee8745fc2d0f85c38dcdba064878980b890d5a347f29d68b531d"),
        ("pa.txt", "6e644c162db67840a414483890fe052fafa4deb4a3c5fa5a31e9bf7d87236885"),
        ("pr.txt", "04238431ee02107b88883b689c9920d77a5a718aca39b85cf7aa77f77aad1e5f"),
        ("pap.npz", "058b211cfb6bcf130a9cf6b1c1e338d8fabf09cd8ef5888f7d7ba7064deef825"),
        ("prp.npz", "4f63835c4b0a7d8e62beb78823d5d3ec906ce49d2ed51f54450a8edbdc471303"),
        ("pos.npz", "90d51988c0b086e04bcd399efda5779c80cded0a9b39ed068cb85e623ea8db00"),
        ("test_20.npy", "78a07809ebe756e471ad076b09847fbc87baf2813afab5d5a7888f1d7fa5edbd"),
        ("test_40.npy", "6317d3a093fccec5c5daa3c4dd196c2281c9735d0d8204d38069bb5588415d79"),
        ("test_60.npy", "0849876c17c16b23b64d7a7bf044ab7ae1012f5d18832583bd854af5d9dd5705"),
        ("train_20.npy", "609d9d70352f3a3db56a6c3e0ea97a2a5b8d943494b284fc61e747e00cc3c04e"),
        ("train_40.npy", "8c96436b60a5b43cbda238a8c3bea7ace6d43e17652f3d8d81bf4effcfe15e36"),
        ("train_60.npy", "99a1d9510d177e6f68b68c7ffc4e69d7cb6118c53e8d343ac48ef4eeb2ae6ed5"),
        ("val_20.npy", "5ac76f040e62102026bc4202328b708fe8a6a1b8c99119d78eadbe7494db5eb8"),
        ("val_40.npy", "b91f42687b34b6d306dcbb94b7cd5b9428dceaf2e4fe391d9b86a92ba2a94b4d"),
        ("val_60.npy", "74fa03079f8117223a845764de01d66139ea9767385f8cfc58cc6d9b0d7cc65c"),
    ),
    "freebase": (
        ("labels.npy", "2410a09263b9d82e4bc58c36e4499ae8c5e2aa09011f71f5bbb73fda43bcf1fe"),
        ("ma.txt", "058903c3ad171bbe4d9cf15d93f2aa5b3d2086ae0d2e0fd7b99e3e81632d1c5e"),
        ("md.txt", "dbe17829c81248a4103f5e9cb7b1cab8aa1308ee28f1465b10ac893a897d772f"),
        ("mw.txt", "866ff0bc4e263885f593ee72e4393445eb0d9f471db9eb2932780374b4467c9b"),
        ("mam.npz", "113c840d1adcef7d5fd985924894a3792945b4426dcbf526179df61ddb6b5021"),
        ("mdm.npz", "2382d3ecedbb68858feeaecb9b627087a072b4ec53e31112b6147e28136fe767"),
        ("mwm.npz", "1c71c345d33282328d0c3d3480a7d8e2fada6a61f68f5b3c8e904945503b7a6d"),
        ("pos.npz", "90d0276eaa0967317f6582431509279fcfe5995c79d2cf9f9ae3130df1c3b7c6"),
        ("test_20.npy", "a9db7585f6b3090e73560a166a1e2f6e65fc031ac41431d82e51d7a550e08aed"),
        ("test_40.npy", "7a2527b316fb8c1e9271ab0a23e54a55d345b00c9563a71fa57d55516eb8af40"),
        ("test_60.npy", "ac1dc9e45d960b1410bc29eae0de3f2cc617b714906644100abc5e1cba80c92a"),
        ("train_20.npy", "55a5d0bca0420b29fa429b1df7651e0d9db52e6162b91ab7060a172cea0140de"),
        ("train_40.npy", "83ee2b96cde50c8089af998b3b460adb3f876db49a75cb2c4801ba796788568e"),
        ("train_60.npy", "c602957fafcbcceaafc0ed679aa2677a9d96e401cb678b51e87617304c271c6d"),
        ("val_20.npy", "d97aef24309f9abfa47d7d969f0a4f9b677ef2e79959f618a7a2276f9b2caaf3"),
        ("val_40.npy", "a0e069572440c844438b4a9f3c82faaee501a49b429875d525a0368f4b71aac1"),
        ("val_60.npy", "49cd65ed8465889ed8d99cbb5af44d86ba580722d2ed33e4485b7600bf3a3071"),
    ),
}
_HECO_TITLES = {
    "acm": "ACM (papers, 3 classes)",
    "dblp": "DBLP (authors, 4 areas)",
    "aminer": "AMiner (papers, 4 classes)",
    "freebase": "Freebase (movies, 3 genres)",
}

# Hugging Face file of Anthropic/hh-rlhf. Its sha256 is taken from the shared/data/hh-rlhf copy.
_HH_URL = (
    "https://huggingface.co/datasets/Anthropic/hh-rlhf/resolve/main/harmless-base/test.jsonl.gz"
)
_HH_SHA256 = "ebfaaed21162a4de120ae85366075b34425e2a6303fac59b99555002f7016f03"

# The npm registry's tarball of emoji-datasource-google 16.0.0; the checksum is the registry's
# published integrity (sha512, base64-decoded to hex).
_EMOJI_PACKAGE = "emoji-datasource-google"
_EMOJI_TARBALL = (
    "https://registry.npmjs.org/emoji-datasource-google/-/emoji-datasource-google-16.0.0.tgz"
)
_EMOJI_SHA512 = base64.b64decode(
    "ZRexfzs7MVoLnmzZmNsO4TKhnAJp5D++Vm6PpUpH/jEQQlemp3l88CjZ+DoZ2faM9R4QxZkOPJCoT8DlPhfQ3A=="
).hex()

_WORDNET_MARKERS = ("data.noun", "data.verb", "data.adj", "data.adv", "index.noun")
ASTERISK_TRANSCRIPTS_FILE = "core-sounds-en.txt.gz"
_DEBIAN_ASTERISK_TRANSCRIPTS = "/usr/share/doc/asterisk-core-sounds-en/" + ASTERISK_TRANSCRIPTS_FILE


def _heco_source(name: str) -> DatasetSource:
    files = _HECO_FILES[name]
    return DatasetSource(
        name=f"heco-{name}",
        title=f"HeCo {_HECO_TITLES[name]} heterogeneous graph (Wang et al., KDD 2021, "
        f"arXiv:2105.09111; release github.com/liun-online/HeCo, data/{name})",
        subdir=f"heco/{name}",
        # pos.npz (HeCo's positive sets) marks the folder; the loader names any other missing file.
        markers=("pos.npz",),
        files=tuple(
            RemoteFile(f"{_HECO}{name}/{file}", file, f"sha256:{sha}") for file, sha in files
        ),
    )


#: Every data set the project reads, by requirement name, in a stable order.
DATASETS: dict[str, DatasetSource] = {
    source.name: source
    for source in (
        DatasetSource(
            name="fashion-mnist",
            title="Fashion-MNIST (Xiao et al. 2017, arXiv:1708.07747; MIT licence; "
            "github.com/zalandoresearch/fashion-mnist)",
            subdir="fashion-mnist",
            markers=tuple(file for file, _ in _FASHION_FILES),
            installed=(
                InstalledLocation("$CL_FASHION_MNIST_DIR"),
                InstalledLocation("/usr/share/datasets/fashion-mnist"),
            ),
            install_hint="apt-get install dataset-fashion-mnist",
            files=tuple(
                RemoteFile(_FASHION_URL + file, file, f"md5:{md5}") for file, md5 in _FASHION_FILES
            ),
        ),
        DatasetSource(
            name="sts",
            title="SemEval STS 2012-2016 test sets (Agirre et al.; per-file licences; "
            "github.com/brmson/dataset-sts, data/sts/semeval-sts)",
            subdir="sts/semeval",
            markers=tuple(file for file, _ in _SEMEVAL_FILES),
            files=tuple(
                RemoteFile(f"{_DATASET_STS}semeval-sts/{file}", file, f"sha256:{sha}")
                for file, sha in _SEMEVAL_FILES
            ),
        ),
        DatasetSource(
            name="sick",
            title="SICK 2014 (Marelli et al., LREC 2014; CC BY-NC-SA 3.0; "
            "github.com/brmson/dataset-sts, data/sts/sick2014)",
            subdir="sts/sick2014",
            markers=tuple(file for file, _ in _SICK_FILES),
            files=tuple(
                RemoteFile(f"{_DATASET_STS}sick2014/{file}", file, f"sha256:{sha}")
                for file, sha in _SICK_FILES
            ),
        ),
        DatasetSource(
            name="wordnet",
            title="WordNet 3.0 database files (Princeton University; WordNet licence; "
            "wordnet.princeton.edu)",
            subdir="wordnet",
            markers=_WORDNET_MARKERS,
            installed=(
                InstalledLocation("/usr/share/wordnet"),
                # NLTK's wordnet corpus is the same WordNet 3.0 database in the same format.
                InstalledLocation("$NLTK_DATA/corpora/wordnet"),
                InstalledLocation("~/nltk_data/corpora/wordnet"),
                InstalledLocation("/usr/share/nltk_data/corpora/wordnet"),
            ),
            install_hint="apt-get install wordnet-base",
        ),
        *(_heco_source(name) for name in _HECO_FILES),
        DatasetSource(
            name="hh-rlhf",
            title="Anthropic HH-RLHF harmless-base test split (Bai et al. 2022, arXiv:2204.05862; "
            "MIT licence; huggingface.co/datasets/Anthropic/hh-rlhf)",
            subdir="hh-rlhf",
            markers=("harmless-base-test.jsonl.gz",),
            files=(RemoteFile(_HH_URL, "harmless-base-test.jsonl.gz", f"sha256:{_HH_SHA256}"),),
        ),
        DatasetSource(
            name="emoji",
            title="Google emoji images of the npm package emoji-datasource-google (MIT; images "
            "Apache 2.0; github.com/iamcal/emoji-data)",
            subdir=f"npm/node_modules/{_EMOJI_PACKAGE}",
            markers=("emoji.json", "img/google/64"),
            installed=(
                InstalledLocation(f"$CL_NPM_PREFIX/node_modules/{_EMOJI_PACKAGE}"),
                InstalledLocation("$CL_NPM_PREFIX"),
                InstalledLocation(f"~/.cache/contrastive/npm/node_modules/{_EMOJI_PACKAGE}"),
                InstalledLocation(f"/usr/local/lib/node_modules/{_EMOJI_PACKAGE}"),
                InstalledLocation(f"/usr/lib/node_modules/{_EMOJI_PACKAGE}"),
            ),
            install_hint=f"npm install --prefix ~/.cache/contrastive/npm {_EMOJI_PACKAGE}@16",
            archive=RemoteFile(_EMOJI_TARBALL, f"{_EMOJI_PACKAGE}.tgz", f"sha512:{_EMOJI_SHA512}"),
        ),
        DatasetSource(
            name="asterisk-prompts",
            title="Asterisk core sound prompts, 8 kHz WAV with transcripts (Digium; CC BY-SA 3.0; "
            "downloads.asterisk.org/pub/telephony/sounds)",
            subdir="asterisk-prompts",
            markers=("*.wav", ASTERISK_TRANSCRIPTS_FILE),
            installed=(
                InstalledLocation(
                    "/usr/share/asterisk/sounds/en", ("*.wav", _DEBIAN_ASTERISK_TRANSCRIPTS)
                ),
            ),
            install_hint="apt-get install asterisk-core-sounds-en-wav asterisk-core-sounds-en",
        ),
    )
}

#: Every system tool a recipe runs, by requirement name.
TOOLS: dict[str, ToolSource] = {
    tool.name: tool
    for tool in (
        ToolSource(
            "espeak-ng",
            "espeak-ng speech synthesizer (GPL-3.0)",
            "espeak-ng",
            "apt-get install espeak-ng",
        ),
        ToolSource(
            "flite",
            "Flite speech synthesizer (BSD-style licence)",
            "flite",
            "apt-get install flite",
        ),
    )
}

# Sources that failed in this process (data set name or URL host -> reason): tried once only.
_FAILED: dict[str, str] = {}


def all_requirements() -> list[str]:
    """Every known data set and tool name, data sets first, in a stable order."""
    return [*DATASETS, *TOOLS]


def cache_dir() -> Path:
    """The cache folder: ``$CL_CACHE_DIR`` or ``~/.cache/contrastive``."""
    return Path(os.environ.get(CACHE_DIR_ENV) or DEFAULT_CACHE_DIR).expanduser()


def requirement_status(name: str, data_dir: Path | None = None) -> RequirementStatus:
    """Whether ``name`` is available without downloading, where, and how to get it.

    Raises:
        ValueError: ``name`` is not in :func:`all_requirements`.
    """
    if name in TOOLS:
        tool = TOOLS[name]
        found = shutil.which(tool.binary)
        return RequirementStatus(
            name, "tool", found is not None, found, f"install {tool.title}: {tool.install_hint}"
        )
    source = _source(name)
    folder = _find_local(source, data_dir)
    return RequirementStatus(
        name,
        "dataset",
        folder is not None,
        None if folder is None else str(folder),
        how_to_get(name),
    )


def how_to_get(name: str) -> str:
    """One line naming the ways to get data set or tool ``name``."""
    if name in TOOLS:
        return f"install {TOOLS[name].title}: {TOOLS[name].install_hint}"
    source = _source(name)
    ways = []
    if source.install_hint:
        ways.append(f"install it ({source.install_hint})")
    ways.append(f"pass --data-dir or set ${DATA_DIR_ENV} to a folder holding {source.subdir}/")
    if source.downloadable:
        ways.append(f"go online once to download it into {cache_dir() / source.subdir}")
    return f"{source.title}: " + ", or ".join(ways)


def resolve_dataset(name: str, data_dir: str | os.PathLike[str] | None = None) -> Path:
    """The folder holding data set ``name``, downloading it into the cache when it is nowhere.

    Args:
        name: a data set name from :data:`DATASETS`.
        data_dir: a folder laid out as ``shared/data`` (or the data set's own folder); ``None``
            uses ``$CL_DATA_DIR`` only.

    Raises:
        ValueError: unknown ``name``.
        DataUnavailableError: ``data_dir`` is given but is not a folder.
        DataUnavailableError: absent and not downloadable (offline, failed or unverified
            download); one line naming the ways to get it.
    """
    source = _source(name)
    if data_dir is not None and not Path(data_dir).is_dir():
        # A folder the user named explicitly must exist; another copy would hide the mistake.
        raise DataUnavailableError(f"data folder {data_dir} is not a directory")
    folder = _find_local(source, None if data_dir is None else Path(data_dir))
    if folder is not None:
        return folder
    reason = "no canonical download" if not source.downloadable else _download(source)
    if reason is None:
        return cache_dir() / source.subdir
    raise DataUnavailableError(_one_line(f"{name} is not available ({reason}); {how_to_get(name)}"))


def ensure_available(names: Sequence[str], data_dir: Path | None = None) -> None:
    """Make every named data set available (downloading where possible) and check every tool.

    Raises:
        ValueError: an unknown name.
        DataUnavailableError: the first name that is missing, with the ways to get it.
    """
    for name in names:
        if name in TOOLS:
            status = requirement_status(name)
            if not status.available:
                raise DataUnavailableError(
                    _one_line(f"{name} is not installed (not on PATH); {status.how_to_get}")
                )
        else:
            resolve_dataset(name, data_dir)


def _source(name: str) -> DatasetSource:
    if name not in DATASETS:
        raise ValueError(
            f"unknown data set or tool {name!r}; choose from {', '.join(all_requirements())}"
        )
    return DATASETS[name]


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _has_markers(folder: Path, markers: Sequence[str]) -> bool:
    if not folder.is_dir():
        return False
    for marker in markers:
        if "*" in marker:
            if next(folder.glob(marker), None) is None:
                return False
        elif not (folder / marker).exists():
            return False
    return True


def _expand(folder: str) -> Path | None:
    """``folder`` with ``$VAR`` and ``~`` expanded; ``None`` when a variable is unset or empty."""
    if any(not os.environ.get(name) for name in _VARIABLE.findall(folder)):
        return None
    return Path(os.path.expandvars(folder)).expanduser()


def _under_root(root: Path, source: DatasetSource) -> list[Path]:
    """Where the data set may sit under a data folder: its subdir, its last part, the root."""
    return list(dict.fromkeys([root / source.subdir, root / Path(source.subdir).name, root]))


def _find_local(source: DatasetSource, data_dir: Path | None) -> Path | None:
    """The first folder of the chain that holds the data set; never downloads."""
    if data_dir is not None and _has_markers(Path(data_dir), source.markers):
        # data_dir is the data set's own folder: the caller named it, so it wins.
        return Path(data_dir)
    for location in source.installed:
        folder = _expand(location.folder)
        if folder is not None and _has_markers(folder, location.markers or source.markers):
            return folder
    roots = [Path(data_dir)] if data_dir is not None else []
    env = os.environ.get(DATA_DIR_ENV)
    if env:
        roots.append(Path(env).expanduser())
    for folder in [folder for root in roots for folder in _under_root(root, source)]:
        if _has_markers(folder, source.markers):
            return folder
    # The cache holds only verified downloads, but maybe not all of them yet.
    cached = cache_dir() / source.subdir
    complete = source.markers + tuple(remote.path for remote in source.files)
    return cached if _has_markers(cached, complete) else None


def _download(source: DatasetSource) -> str | None:
    """Download ``source`` into the cache; ``None`` on success, else why it failed."""
    if os.environ.get(OFFLINE_ENV, "").strip() not in ("", "0"):
        return f"${OFFLINE_ENV} is set"
    if source.name in _FAILED:
        return _FAILED[source.name]
    target = cache_dir() / source.subdir
    try:
        if source.archive is not None:
            _fetch_archive(source, target)
        for remote in source.files:
            if not (target / remote.path).is_file():
                _fetch(remote, target / remote.path)
    except _DownloadError as error:
        _FAILED[source.name] = str(error)
        return str(error)
    if not _has_markers(target, source.markers):
        _FAILED[source.name] = f"the download into {target} lacks {', '.join(source.markers)}"
        return _FAILED[source.name]
    return None


class _DownloadError(Exception):
    """One source failed (unreachable, HTTP error, truncated, wrong checksum)."""


def _fetch(remote: RemoteFile, target: Path) -> None:
    """Stream ``remote`` into ``target`` atomically, verifying its checksum first."""
    host = urllib.parse.urlsplit(remote.url).netloc
    if host in _FAILED:
        raise _DownloadError(_FAILED[host])
    algorithm, _, expected = remote.checksum.partition(":")
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=".part", dir=target.parent
    )
    try:
        digest = hashlib.new(algorithm)
        with (
            os.fdopen(handle, "wb") as out,
            urllib.request.urlopen(remote.url, timeout=CONNECT_TIMEOUT_S) as response,
        ):
            while chunk := response.read(_CHUNK):
                digest.update(chunk)
                out.write(chunk)
        if digest.hexdigest() != expected.lower():
            raise _DownloadError(
                f"{remote.url}: {algorithm} {digest.hexdigest()} does not match the expected "
                f"{expected} (truncated or changed upstream)"
            )
        os.replace(temporary, target)
    except urllib.error.HTTPError as error:
        raise _DownloadError(f"{remote.url}: HTTP {error.code} {error.reason}") from None
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        _FAILED[host] = f"cannot download {remote.url} ({reason})"
        raise _DownloadError(_FAILED[host]) from None
    except (http.client.HTTPException, ValueError) as error:
        raise _DownloadError(f"{remote.url}: broken download ({type(error).__name__})") from None
    finally:
        Path(temporary).unlink(missing_ok=True)


def _fetch_archive(source: DatasetSource, target: Path) -> None:
    """Download the verified ``.tgz`` and move its ``archive_root`` member into ``target``."""
    assert source.archive is not None
    if _has_markers(target, source.markers):
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        archive = staging / source.archive.path
        _fetch(source.archive, archive)
        try:
            with tarfile.open(archive, "r:gz") as tar:
                _safe_extract(tar, staging / "unpacked")
        except (tarfile.TarError, OSError, EOFError) as error:
            raise _DownloadError(f"{source.archive.url}: cannot unpack ({error})") from None
        unpacked = staging / "unpacked" / source.archive_root
        if not _has_markers(unpacked, source.markers):
            raise _DownloadError(f"{source.archive.url}: the archive lacks {source.markers}")
        if target.exists():
            shutil.rmtree(target)
        os.replace(unpacked, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _safe_extract(tar: tarfile.TarFile, destination: Path) -> None:
    """Extract regular files and folders only, none outside ``destination``."""
    members = tar.getmembers()
    for member in members:
        parts = Path(member.name).parts
        if member.name.startswith("/") or ".." in parts or not (member.isfile() or member.isdir()):
            raise tarfile.TarError(f"refusing archive member {member.name!r}")
    if hasattr(tarfile, "data_filter"):
        tar.extractall(destination, members=members, filter="data")
    else:  # Python < 3.11.4 has no extraction filters; the members were checked above.
        tar.extractall(destination, members=members)
