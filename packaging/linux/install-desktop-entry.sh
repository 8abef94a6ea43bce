#!/bin/sh
# Add Digit Studio to the desktop's application menu (for this user), pointing at this folder.
set -e
here=$(cd "$(dirname "$0")" && pwd)
apps="${XDG_DATA_HOME:-$HOME/.local/share}/applications"
icons="${XDG_DATA_HOME:-$HOME/.local/share}/icons/hicolor/256x256/apps"
mkdir -p "$apps" "$icons"
cp "$here/_internal/assets/icon.png" "$icons/digit-studio.png"
sed "s|^Exec=.*|Exec=\"$here/DigitStudio\"|" "$here/digit-studio.desktop" > "$apps/digit-studio.desktop"
echo "Installed $apps/digit-studio.desktop"
