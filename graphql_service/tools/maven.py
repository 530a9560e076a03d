"""Jars from Maven Central, fetched once into the cache: how the local Cassandra node
(devnode.py) and the local Kafka broker (kafkanode.py) get their distributions."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path


def cached_jars(
    home: Path, pom: str, *, product: str, main_jar: str, without_maven: str, error: type[Exception]
) -> Path:
    """`home`/lib holding `pom`'s runtime dependencies, fetched with Maven unless an earlier
    fetch completed. `main_jar` is the glob of the jar that must be there; `without_maven`
    says what to do instead when `mvn` is missing; failures raise `error` naming the fix."""
    lib = home / "lib"
    if (home / ".complete").exists():
        return lib
    mvn = shutil.which("mvn")
    if not mvn:
        raise error(
            f"Maven (`mvn`) is needed once per machine to download {product} from Maven Central; "
            f"install it (e.g. `apt-get install maven`) or {without_maven}."
        )
    home.mkdir(parents=True, exist_ok=True)
    # Staged in a temporary directory and moved into place whole: an interrupted download
    # leaves no half-filled lib behind, and `.complete` is written last.
    with tempfile.TemporaryDirectory(dir=home) as work:
        Path(work, "pom.xml").write_text(pom)
        staging = Path(work) / "lib"
        print(f"downloading {product} with Maven …", flush=True)
        result = subprocess.run(
            [mvn, "-q", "-B", "dependency:copy-dependencies", "-DincludeScope=runtime", f"-DoutputDirectory={staging}"],
            cwd=work,
            capture_output=True,
            text=True,
        )
        if result.returncode != 0 or not any(staging.glob(main_jar)):
            tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
            raise error(f"Maven could not fetch {product}:\n{tail}")
        if lib.exists():
            shutil.rmtree(lib)
        staging.rename(lib)
    (home / ".complete").write_text(home.name + "\n")
    return lib
