"""Local wheels of many small files, so that installing one takes long enough to
be cut short part-way (no network, no build backend)."""

import os
import zipfile


def build_wheel(directory: str, name: str, version: str, files: int) -> str:
    """`name` `version`: `files` small data files, stored uncompressed; its path."""
    path = os.path.join(directory, f"{name}-{version}-py3-none-any.whl")
    info = f"{name}-{version}.dist-info"
    rows = []
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as wheel:
        def add(member: str, data: bytes) -> None:
            wheel.writestr(member, data)
            rows.append(f"{member},,{len(data)}")

        add(f"{name}/__init__.py", b"VALUE = 42\n")
        for i in range(files):
            add(f"{name}/data/d{i // 500}/f{i}.txt", f"file {i}\n".encode() * 20)
        add(f"{info}/METADATA",
            f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode())
        add(f"{info}/WHEEL",
            b"Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        wheel.writestr(f"{info}/RECORD", "\n".join([*rows, f"{info}/RECORD,,"]) + "\n")
    return path
