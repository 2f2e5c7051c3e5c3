#!/usr/bin/env bash
# Installs what a fresh Debian machine lacks to build, run and test Bastion. Idempotent and quiet when all is there.
set -euo pipefail

APT_PACKAGES=(
    pkg-config libsqlite3-dev libuv1-dev libzstd-dev libargon2-dev
    sqlite3 zstd age b3sum restic python3-cryptography
    libarchive-tools attr acl
    rclone apache2 openssh-server
    postgresql mariadb-server mariadb-client btrfs-progs libcurl4-openssl-dev
    nodejs esbuild node-react node-react-dom node-typescript node-csstype node-prop-types chromium
    fonts-wqy-microhei  # Chinese glyphs for Chromium (the UI in zh-CN, its screenshots)
)
PIP_PACKAGES=(honcho schemathesis playwright aiosmtpd openapi-spec-validator axe-playwright-python opentelemetry-proto)

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "install-deps: apt packages: ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! python3 -m pip --version >/dev/null 2>&1; then
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-pip >/dev/null
fi
for pkg in "${PIP_PACKAGES[@]}"; do
    if ! python3 -m pip show -q "$pkg" >/dev/null 2>&1; then
        echo "install-deps: pip package: $pkg"
        python3 -m pip install -q "$pkg" 2>/dev/null || python3 -m pip install -q --break-system-packages "$pkg"
    fi
done
