"""The two images build: every pin has a wheel for the image's Python and platform, and every
shared library those wheels link to is in the image (no Docker needed).

An image has no compiler, so a pin without a binary wheel for the base image's glibc fails the
build (the Python 3.11 Lambda base is Amazon Linux 2, glibc 2.26: numpy 2.4.6, pyarrow 26.0.1 and
onnxruntime 1.32.0, among others, publish nothing for it). A wheel links system libraries it does
not bundle (LightGBM's ``libgomp.so.1``): an image without them builds and then fails at import, on
AWS. The tests marked ``registry`` download the pinned wheels from the package index (cached under
``.cache/image-wheels``; ``make test-images``, a step of its own in ``.ci/run``); the others check
the Dockerfiles, the table below and the shared-library check itself from the installed venv.
"""

from __future__ import annotations

import io
import re
import subprocess
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from elftools.elf.dynamic import DynamicSection
from elftools.elf.elffile import ELFFile
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.tags import Tag, compatible_tags, cpython_tags
from packaging.utils import canonicalize_name, parse_wheel_filename

from automl_lite.aws import resources

REPO = Path(__file__).resolve().parents[2]
WHEEL_CACHE = REPO / ".cache" / "image-wheels"

#: glibc's own libraries (the C library, its split-off parts and the dynamic loader): every base
#: image has them. They are in every manylinux policy's list of libraries a wheel may link to.
GLIBC = frozenset(
    {
        "libc.so.6",
        "libm.so.6",
        "libpthread.so.0",
        "libdl.so.2",
        "librt.so.1",
        "libutil.so.1",
        "libresolv.so.2",
        "ld-linux-x86-64.so.2",
    }
)


@dataclass(frozen=True)
class BaseImage:
    """What a base image offers the wheels installed on it."""

    python: str
    #: The base's glibc: a wheel is installable if its manylinux tag is at most this version.
    glibc: tuple[int, int]
    #: The command line that installs system packages in a Dockerfile on this base.
    installer: str
    #: Shared libraries (sonames) the base image ships.
    provided: frozenset[str]
    #: Shared libraries a Dockerfile may add, and the package of this base's distribution that has each.
    packages: dict[str, str] = field(default_factory=dict)

    @property
    def platforms(self) -> list[str]:
        """The platform tags pip accepts on this base, most specific first (pip does not expand
        ``manylinux_2_34`` to the older tags by itself, so all are passed)."""
        major, minor = self.glibc
        tags = [f"manylinux_{major}_{m}_x86_64" for m in range(minor, 4, -1)]
        legacy = {17: "manylinux2014_x86_64", 12: "manylinux2010_x86_64", 5: "manylinux1_x86_64"}
        return tags + [alias for m, alias in legacy.items() if m <= minor]

    @property
    def tags(self) -> list[Tag]:
        """Wheel tags this base's CPython accepts, in pip's order of preference."""
        version = tuple(int(p) for p in self.python.split("."))
        return list(cpython_tags(version, platforms=self.platforms)) + list(
            compatible_tags(version, f"cp{version[0]}{version[1]}", platforms=self.platforms)
        )

    @property
    def marker_environment(self) -> dict[str, str]:
        """What a dependency's environment marker sees on this base."""
        return {
            "python_version": self.python,
            "python_full_version": f"{self.python}.0",
            "implementation_name": "cpython",
            "platform_python_implementation": "CPython",
            "sys_platform": "linux",
            "platform_system": "Linux",
            "os_name": "posix",
            "platform_machine": "x86_64",
            "extra": "",
        }


#: Each base image a Dockerfile may start from, and what it offers. One table: a new base needs an
#: entry here (its glibc from the distribution's release notes), or the tests below fail.
BASE_IMAGES: dict[str, BaseImage] = {
    # AWS Lambda's Python 3.12 base: Amazon Linux 2023 minimal, glibc 2.34, package manager
    # microdnf. The minimal image drops the GCC runtime libraries, so the Dockerfile installs them.
    "public.ecr.aws/lambda/python:3.12": BaseImage(
        python="3.12",
        glibc=(2, 34),
        installer="microdnf install",
        provided=GLIBC,
        packages={
            "libgomp.so.1": "libgomp",
            "libstdc++.so.6": "libstdc++",
            "libgcc_s.so.1": "libgcc",
            "libz.so.1": "zlib",
        },
    ),
    # Docker's official Python image on Debian 12 (bookworm), glibc 2.36. libstdc++6, libgcc-s1
    # and zlib1g are in every Debian base (apt and dpkg need them); libgomp1 is not.
    "python:3.12-slim-bookworm": BaseImage(
        python="3.12",
        glibc=(2, 36),
        installer="apt-get install",
        provided=GLIBC | {"libstdc++.so.6", "libgcc_s.so.1", "libz.so.1"},
        packages={"libgomp.so.1": "libgomp1"},
    ),
}


@dataclass(frozen=True)
class Image:
    name: str
    dockerfile: Path
    requirements: Path


IMAGES = [
    Image("lambda", REPO / "lambdas" / "Dockerfile", REPO / "lambdas" / "requirements.txt"),
    Image("training", REPO / "training_image" / "Dockerfile", REPO / "training_image" / "requirements.txt"),
]


# --- Reading a Dockerfile -----------------------------------------------------------------------


def _instructions(dockerfile_text: str) -> list[tuple[str, str]]:
    """``(INSTRUCTION, arguments)`` pairs, continuation lines joined and comments dropped."""
    logical: list[str] = []
    current = ""
    for line in dockerfile_text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        logical.append(current + stripped)
        current = ""
    if current:
        logical.append(current)
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "") for line in logical
    ]


def base_image(dockerfile_text: str) -> str:
    """The image the (last) build stage starts from."""
    froms = [args.split()[0] for name, args in _instructions(dockerfile_text) if name == "FROM"]
    assert froms, "the Dockerfile has no FROM"
    return froms[-1]


def installed_packages(dockerfile_text: str, installer: str) -> set[str]:
    """Names of the system packages the Dockerfile's ``RUN <installer> ...`` commands install
    (versions dropped: ``libgomp1=12.2.0-14`` and ``libgomp-11.4.1`` are ``libgomp1`` and ``libgomp``)."""
    packages: set[str] = set()
    for name, args in _instructions(dockerfile_text):
        if name != "RUN":
            continue
        for command in re.split(r"&&|\|\||;|\|", args):
            words = command.split()
            verb = installer.split()
            for i in range(len(words) - len(verb) + 1):
                if words[i : i + len(verb)] != verb:
                    continue
                for word in words[i + len(verb) :]:
                    if word.startswith("-"):
                        continue
                    word = word.strip("\"'").split("=", 1)[0]  # apt: name=version (or "name=X.Y.*")
                    packages.add(re.sub(r"-\d[\w.+~:-]*$", "", word))  # rpm: name-version
    return packages


def env_value(dockerfile_text: str, key: str) -> str | None:
    """The value an ``ENV`` instruction gives ``key`` (``KEY=value`` form), or None."""
    value = None
    for name, args in _instructions(dockerfile_text):
        if name == "ENV":
            for match in re.finditer(r"(\w+)=(\"[^\"]*\"|\S+)", args):
                if match.group(1) == key:
                    value = match.group(2).strip('"')
    return value


def pins(requirements: Path) -> dict[str, str]:
    """``{canonical name: version}`` of a requirements file; every line must be an exact pin."""
    pinned = {}
    for line in requirements.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            req = Requirement(line)
            (spec,) = req.specifier  # exactly one specifier
            assert spec.operator == "==", f"{requirements.name}: {line} is not pinned with =="
            pinned[canonicalize_name(req.name)] = spec.version
    return pinned


# --- Reading wheels ------------------------------------------------------------------------------


def needed_libraries(files: dict[str, bytes]) -> dict[str, list[str]]:
    """``{member: DT_NEEDED sonames}`` for every ELF file among ``files`` (path -> bytes)."""
    needed = {}
    for member, data in files.items():
        if not data.startswith(b"\x7fELF"):
            continue
        elf = ELFFile(io.BytesIO(data))
        sonames: list[str] = []
        for section in elf.iter_sections():
            if isinstance(section, DynamicSection):
                sonames += [tag.needed for tag in section.iter_tags() if tag.entry.d_tag == "DT_NEEDED"]
        needed[member] = sonames
    return needed


def wheel_elf_files(wheel: Path) -> dict[str, bytes]:
    """The shared objects inside a wheel (extension modules and the libraries bundled with them)."""
    with zipfile.ZipFile(wheel) as archive:
        return {
            name: archive.read(name)
            for name in archive.namelist()
            if re.search(r"\.so(\.[\d.]+)?$", name) or ".so." in Path(name).name
        }


def missing_libraries(
    wheels: dict[str, dict[str, list[str]]], base: BaseImage, dockerfile_text: str
) -> list[str]:
    """Each library a wheel's shared objects need that neither the wheel bundles, nor the base image
    ships, nor the Dockerfile installs: ``"<wheel>: <member> needs <soname> ..."``. ``wheels`` maps a
    wheel's name to :func:`needed_libraries` of its files."""
    installed = installed_packages(dockerfile_text, base.installer)
    problems = []
    for wheel, members in sorted(wheels.items()):
        bundled = {Path(member).name for member in members}
        for member, sonames in sorted(members.items()):
            for soname in sonames:
                if soname in bundled or soname in base.provided:
                    continue
                package = base.packages.get(soname)
                if package is not None and package in installed:
                    continue
                fix = (
                    f"add {package} to the Dockerfile's `{base.installer}`"
                    if package
                    else "no package of the base image is known to provide it (see BASE_IMAGES)"
                )
                problems.append(f"{wheel}: {member} needs {soname}, which the image lacks ({fix})")
    return problems


def wheel_requirements(wheel: Path) -> list[Requirement]:
    """The wheel's own ``Requires-Dist`` lines (its METADATA file)."""
    with zipfile.ZipFile(wheel) as archive:
        (metadata,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        text = archive.read(metadata).decode()
    header = text.split("\n\n", 1)[0]
    return [
        Requirement(line.split(":", 1)[1].strip())
        for line in header.splitlines()
        if line.startswith("Requires-Dist:")
    ]


# --- Checks that need no registry (run by `make test`) -------------------------------------------


@pytest.mark.parametrize("image", IMAGES, ids=lambda i: i.name)
def test_each_image_starts_from_a_known_base_on_the_projects_python(image: Image) -> None:
    base = base_image(image.dockerfile.read_text())
    assert base in BASE_IMAGES, (
        f"{image.dockerfile.relative_to(REPO)} starts from {base}: add it to BASE_IMAGES"
    )
    assert BASE_IMAGES[base].python == resources.PYTHON_VERSION
    assert f"python{resources.PYTHON_VERSION}" == resources.LAMBDA_RUNTIME
    pins(image.requirements)  # every line an exact pin


def test_the_platform_tags_follow_the_base_images_glibc() -> None:
    lambda_base = BASE_IMAGES["public.ecr.aws/lambda/python:3.12"]
    assert lambda_base.platforms[0] == "manylinux_2_34_x86_64"
    assert (
        "manylinux_2_28_x86_64" in lambda_base.platforms and "manylinux2014_x86_64" in lambda_base.platforms
    )
    assert "manylinux_2_35_x86_64" not in lambda_base.platforms
    assert Tag("cp312", "cp312", "manylinux_2_28_x86_64") in lambda_base.tags
    assert Tag("py3", "none", "any") in lambda_base.tags
    assert Tag("cp311", "cp311", "manylinux_2_28_x86_64") not in lambda_base.tags
    assert BASE_IMAGES["python:3.12-slim-bookworm"].platforms[0] == "manylinux_2_36_x86_64"
    for tag, base in BASE_IMAGES.items():  # each entry's Python is its tag's
        assert f":{base.python}" in tag


def test_installed_packages_reads_apt_and_microdnf_lines() -> None:
    assert installed_packages(
        "FROM x\nRUN apt-get update \\\n && apt-get install -y --no-install-recommends libgomp1=12.2.0-14 curl \\\n"
        " && rm -rf /var/lib/apt/lists/*\n",
        "apt-get install",
    ) == {"libgomp1", "curl"}
    assert installed_packages(
        'FROM x\nRUN apt-get install -y --no-install-recommends "libgomp1=12.2.*" curl\n', "apt-get install"
    ) == {"libgomp1", "curl"}
    assert installed_packages(
        "FROM x\nRUN microdnf install -y libgomp-11.4.1-2.amzn2023 libstdc++ && microdnf clean all\n",
        "microdnf install",
    ) == {"libgomp", "libstdc++"}
    assert installed_packages((REPO / "lambdas" / "Dockerfile").read_text(), "microdnf install") >= {
        "libgomp"
    }
    assert "libgomp1" in installed_packages(
        (REPO / "training_image" / "Dockerfile").read_text(), "apt-get install"
    )


def _installed_lightgbm() -> dict[str, dict[str, list[str]]]:
    """The shared objects of the venv's LightGBM (the same build as the image's, for CPython 3.11)."""
    from importlib.metadata import distribution

    dist = distribution("lightgbm")
    files = {
        str(f): Path(str(dist.locate_file(f))).read_bytes()
        for f in dist.files or []
        if ".so" in Path(str(f)).name
    }
    return {"lightgbm (venv)": needed_libraries(files)}


@pytest.mark.parametrize("image", IMAGES, ids=lambda i: i.name)
def test_the_library_check_names_the_wheel_and_the_library_a_dockerfile_lacks(image: Image) -> None:
    lightgbm = _installed_lightgbm()
    assert any("libgomp.so.1" in sonames for sonames in next(iter(lightgbm.values())).values())
    text = image.dockerfile.read_text()
    base = BASE_IMAGES[base_image(text)]
    assert missing_libraries(lightgbm, base, text) == []

    package = base.packages["libgomp.so.1"]
    without = re.sub(rf"(?<=\s){re.escape(package)}(=\S+)?(?=\s)", " ", text)
    assert package not in installed_packages(without, base.installer)
    problems = missing_libraries(lightgbm, base, without)
    assert problems and all("lightgbm" in p and "libgomp.so.1" in p and package in p for p in problems)


def test_each_image_with_onnxruntime_turns_its_telemetry_off() -> None:
    with_onnxruntime = [image for image in IMAGES if "onnxruntime" in pins(image.requirements)]
    assert with_onnxruntime  # the Lambda image (Export)
    for image in with_onnxruntime:
        assert env_value(image.dockerfile.read_text(), "ORT_DISABLE_TELEMETRY") == "1", image.name


# --- Checks against the package index (`make test-images`) --------------------------------------


def _pip_download(base: BaseImage, requirements: list[str], dest: Path) -> subprocess.CompletedProcess[str]:
    version = base.python.replace(".", "")
    command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:"]
    command += ["--python-version", base.python, "--implementation", "cp", "--abi", f"cp{version}"]
    for platform in base.platforms:
        command += ["--platform", platform]
    command += ["--dest", str(dest), *requirements]
    return subprocess.run(command, capture_output=True, text=True, timeout=900, check=False)


def _wheel_for(files: list[Path], name: str, version: str, base: BaseImage) -> Path | None:
    """The downloaded wheel pip would install for ``name==version`` on ``base`` (best tag first)."""
    rank = {tag: i for i, tag in enumerate(base.tags)}
    candidates = []
    for path in files:
        wheel_name, wheel_version, _, wheel_tags = parse_wheel_filename(path.name)
        if wheel_name == name and str(wheel_version) == version:
            best = min((rank[t] for t in wheel_tags if t in rank), default=None)
            if best is not None:
                candidates.append((best, path))
    return min(candidates)[1] if candidates else None


_RESOLVED: dict[str, dict[str, Path]] = {}


def resolve_wheels(image: Image) -> dict[str, Path]:
    """``{package: wheel}`` for every pin of the image, downloaded for its Python and platform with
    binary wheels only. Fails naming every package that has none."""
    if image.name in _RESOLVED:
        return _RESOLVED[image.name]
    base = BASE_IMAGES[base_image(image.dockerfile.read_text())]
    pinned = pins(image.requirements)
    dest = WHEEL_CACHE / f"{image.name}-cp{base.python.replace('.', '')}-{base.platforms[0]}"
    dest.mkdir(parents=True, exist_ok=True)
    # A wheel already in the cache is the one the index served for that pin (files there never change):
    # only the pins without one are asked for, so a rerun with unchanged pins needs no network.
    cached = sorted(dest.glob("*.whl"))
    wanted = [f"{n}=={v}" for n, v in pinned.items() if _wheel_for(cached, n, v, base) is None]
    result = _pip_download(base, wanted, dest) if wanted else None
    if result is not None and result.returncode != 0:
        # pip stops at the first failure: ask for each pin alone to name them all.
        failed = [req for req in wanted if _pip_download(base, [req], dest).returncode != 0]
        assert failed, f"pip download failed:\n{result.stderr[-2000:]}"
        pytest.fail(
            f"{image.dockerfile.relative_to(REPO)} (CPython {base.python}, {base.platforms[0]} and older) "
            f"cannot install these pins, which have no binary wheel for it: {', '.join(failed)}",
            pytrace=False,
        )
    files = sorted(dest.glob("*.whl"))
    resolved = {}
    for name, version in pinned.items():
        wheel = _wheel_for(files, name, version, base)
        assert wheel is not None, f"no wheel of {name}=={version} for {base.platforms[0]} in {dest}"
        resolved[name] = wheel
    for stale in set(files) - set(resolved.values()):  # earlier pins: keep the cache to the current ones
        stale.unlink()
    _RESOLVED[image.name] = resolved
    return resolved


@pytest.mark.registry
@pytest.mark.parametrize("image", IMAGES, ids=lambda i: i.name)
def test_every_pin_has_a_wheel_for_the_images_python_and_platform(image: Image) -> None:
    wheels = resolve_wheels(image)
    assert set(wheels) == set(pins(image.requirements))


@pytest.mark.registry
@pytest.mark.parametrize("image", IMAGES, ids=lambda i: i.name)
def test_the_pins_are_closed_on_the_images_python(image: Image) -> None:
    """Every dependency the pinned wheels declare (markers evaluated for the image) is pinned and
    satisfied: pip in the image installs nothing unpinned."""
    base = BASE_IMAGES[base_image(image.dockerfile.read_text())]
    pinned = pins(image.requirements)
    environment: Any = base.marker_environment
    problems = []
    for name, wheel in resolve_wheels(image).items():
        for req in wheel_requirements(wheel):
            if req.marker is not None and not Marker(str(req.marker)).evaluate(environment):
                continue
            dep = canonicalize_name(req.name)
            if dep not in pinned:
                problems.append(f"{name} needs {req}, which {image.requirements.name} does not pin")
            elif not req.specifier.contains(pinned[dep], prereleases=True):
                problems.append(f"{name} needs {req}, but {dep}=={pinned[dep]} is pinned")
    assert not problems, "\n".join(problems)


@pytest.mark.registry
@pytest.mark.parametrize("image", IMAGES, ids=lambda i: i.name)
def test_every_shared_library_the_wheels_link_to_is_in_the_image(image: Image) -> None:
    text = image.dockerfile.read_text()
    base = BASE_IMAGES[base_image(text)]
    linked = {
        wheel.name: needed_libraries(wheel_elf_files(wheel)) for wheel in resolve_wheels(image).values()
    }
    assert any("libgomp.so.1" in s for members in linked.values() for s in members.values())  # LightGBM
    problems = missing_libraries(linked, base, text)
    assert not problems, "\n".join(problems)
