#!/bin/sh
# Add Digit Studio to the desktop's application menu (for this user), pointing at this folder, and
# offer it in the file manager's "Open with" for pictures. --uninstall takes both away again.
set -e
here=$(cd "$(dirname "$0")" && pwd)
data="${XDG_DATA_HOME:-$HOME/.local/share}"
apps="$data/applications"
icons="$data/icons/hicolor/256x256/apps"
if [ "$1" = "--uninstall" ]; then
    rm -f "$apps/digit-studio.desktop" "$icons/digit-studio.png"
    echo "Removed $apps/digit-studio.desktop"
else
    mkdir -p "$apps" "$icons"
    cp "$here/_internal/assets/icon.png" "$icons/digit-studio.png"
    sed "s|^Exec=DigitStudio|Exec=\"$here/DigitStudio\"|" "$here/digit-studio.desktop" > "$apps/digit-studio.desktop"
    echo "Installed $apps/digit-studio.desktop"
fi
# The menu and Open with read a cache of desktop entries; refresh it where the desktop keeps one.
if command -v update-desktop-database >/dev/null 2>&1; then
    update-desktop-database "$apps" || true
fi
