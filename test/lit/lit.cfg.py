# Lit configuration for mpc's FileCheck tests.
import os

import lit.formats

config.name = "mpc"
config.test_format = lit.formats.ShTest(execute_external=True)
config.suffixes = [".mlir", ".onnxtxt", ".test"]
config.excludes = ["Inputs", "lit.cfg.py", "lit.site.cfg.py"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.mpc_obj_root, "test", "lit")

# mpc-opt first, then FileCheck/not/split-file from LLVM 22.
config.environment["PATH"] = os.pathsep.join(
    [config.mpc_tools_dir, config.llvm_tools_dir, config.environment.get("PATH", os.environ["PATH"])]
)
config.substitutions.append(("%python", config.mpc_python))
config.substitutions.append(("%mpc_src", config.mpc_src_root))
