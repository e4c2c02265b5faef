"""PyInstaller hook for rapidocr (text in photos, issue 19).

rapidocr reads its ONNX models (``models/*.onnx``) and its YAML configs as files next to
its modules, and imports its engines by name: collect both, so the bundle reads text
offline like a wheel install.
"""

from PyInstaller.utils.hooks import collect_data_files, collect_submodules

datas = collect_data_files("rapidocr")
hiddenimports = collect_submodules("rapidocr")
