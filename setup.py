"""Ship playbooks/ and templates/ inside the wheel (as runbooks/_data/...), so the
`runbooks` console script works from a regular, non-editable install too."""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildWithData(build_py):
    def run(self) -> None:
        super().run()
        root = Path(__file__).resolve().parent
        for name in ("playbooks", "templates"):
            src = root / name
            if src.is_dir():
                shutil.copytree(src, Path(self.build_lib) / "runbooks" / "_data" / name, dirs_exist_ok=True)


setup(cmdclass={"build_py": BuildWithData})
