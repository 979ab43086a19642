"""Builds `erpmail-api`: the erpmail.v1 package, generating its code from the protos when absent."""

import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

sys.path.insert(0, str(Path(__file__).resolve().parent))
import generate


class BuildWithGeneratedCode(build_py):
    def run(self) -> None:
        if not generate.generated_files(generate.PACKAGE):
            generate.main([])
        super().run()


setup(
    packages=["erpmail.v1"],
    package_data={"erpmail.v1": ["py.typed", "*.pyi", "*.proto"]},
    cmdclass={"build_py": BuildWithGeneratedCode},
)
