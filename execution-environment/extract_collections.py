"""Copy the collections collections.txt names out of the Ansible community package's wheel (build stage only).

Usage: python3 extract_collections.py collections.txt WHEEL_DIR DEST
The first entry is the package pin (ansible==X.Y.Z, downloaded into WHEEL_DIR by pip beforehand), the rest are
collection names. Only their files are extracted, to DEST/ansible_collections/<namespace>/<name>.
"""

import sys
import zipfile
from pathlib import Path

entries = [line.strip() for line in Path(sys.argv[1]).read_text().splitlines() if line.strip() and line[0] != "#"]
pin, names = entries[0], entries[1:]
wheels = sorted(Path(sys.argv[2]).glob(pin.replace("==", "-") + "-*.whl"))
if len(wheels) != 1:
    sys.exit(f"extract_collections.py: expected one wheel for {pin} in {sys.argv[2]}, found {len(wheels)}")
dest = Path(sys.argv[3])
with zipfile.ZipFile(wheels[0]) as wheel:
    for name in names:
        prefix = "ansible_collections/{}/{}/".format(*name.split("."))
        members = [m for m in wheel.namelist() if m.startswith(prefix)]
        if not members:
            sys.exit(f"extract_collections.py: {pin} has no collection {name}")
        wheel.extractall(dest, members)
        print(f"{name}: {len(members)} files from {wheels[0].name}")
