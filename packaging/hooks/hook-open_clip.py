"""PyInstaller hook for open_clip (pyinstaller-hooks-contrib has none).

open_clip finds its model configs (``model_configs/*.json``) and the BPE vocabulary
(``bpe_simple_vocab_16e6.txt.gz``) as files next to its modules, so they must be
collected as data; its sources are kept too, because TorchScript (``torch.jit``) reads
the source of the modules it compiles.
"""

from PyInstaller.utils.hooks import collect_data_files, collect_submodules

datas = collect_data_files("open_clip")
hiddenimports = collect_submodules("open_clip")
module_collection_mode = "pyz+py"
