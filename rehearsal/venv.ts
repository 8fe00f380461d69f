/**
 * The release virtualenvs of the rehearsal: Debian's python3 with --system-site-packages (the
 * Debian packages satisfy the requirements: no PyPI here). When Debian's python3-pip is installed
 * and the install command runs pip as `venv/bin/python -m pip`, the venv is made without its own
 * pip (--without-pip: about 0.05 s instead of 2.8 s for ensurepip, per release) and pip runs from
 * the system site packages, installing into the venv. An install command that calls the venv's
 * own `venv/bin/pip` gets a venv with pip, as before.
 */
import { execFileSync } from "child_process";

export const REHEARSAL_PYTHON = "/usr/bin/python3";

/** Whether `python -m pip` works without a venv's own pip (Debian's python3-pip). */
export function hasSystemPip(python: string = REHEARSAL_PYTHON): boolean {
    try {
        execFileSync(python, ["-m", "pip", "--version"], { stdio: "ignore" });
        return true;
    } catch {
        return false;
    }
}

/** `python -m venv` arguments for a release whose dependencies `installCommand` installs. */
export function venvArgsFor(installCommand: string, systemPip?: boolean): string {
    const needsOwnPip = /(^|[\s;&|(])venv\/bin\/pip\d*(\s|$)/.test(installCommand) || !/venv\/bin\/python\d* -m pip\b/.test(installCommand);
    // Debian's pip is looked for (a python process) only when the command could use it.
    return !needsOwnPip && (systemPip ?? hasSystemPip()) ? "--system-site-packages --without-pip" : "--system-site-packages";
}
