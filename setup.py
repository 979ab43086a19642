"""Maps the top-level folders into the `erpmail` namespace (see README, "Layout")."""

from setuptools import find_packages, setup

ROOTS = {
    "erpmail.server": "server",
    "erpmail.sandbox": "sandbox",
}

packages = []
for name, folder in ROOTS.items():
    packages.append(name)
    packages += [f"{name}.{sub}" for sub in find_packages(folder)]

setup(
    packages=packages,
    package_dir=ROOTS,
    package_data={name: ["py.typed", "*.sql"] for name in packages},
)
