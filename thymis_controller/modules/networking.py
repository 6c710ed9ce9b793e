"""Built-in: WiFi, static addresses and nameservers (Thymis's NetworkingModule).

No Nix of its own: each setting is written by the base class to its ``thymis.config.*`` option
(``thymis.config.wifi-ssid``, ``…wifi-password``, ``…wifi-auth``, ``…wifi-auth-protocols``,
``thymis.config.networking.static-networks``, ``thymis.config.networking.nameservers``) as
``lib.mkOverride <priority> <value>``, for the thymis device module to turn into NixOS networking.
"""

import pathlib

import thymis_controller.modules.modules as modules
from thymis_controller.lib import read_into_base64

_ICONS = pathlib.Path(__file__).parent / "icons"

# wpa_supplicant's key_mgmt values
ALL_PROTOCOLS = [
    "WPA-PSK", "WPA-EAP", "IEEE8021X", "NONE", "WPA-NONE", "FT-PSK", "FT-EAP", "FT-EAP-SHA384", "WPA-PSK-SHA256",
    "WPA-EAP-SHA256", "SAE", "FT-SAE", "WPA-EAP-SUITE-B", "WPA-EAP-SUITE-B-192", "OSEN", "FILS-SHA256",
    "FILS-SHA384", "FT-FILS-SHA256", "FT-FILS-SHA384", "OWE", "DPP",
]


def _t(en: str, de: str) -> modules.LocalizedString:
    return modules.LocalizedString(en=en, de=de)


def _field(en: str, de: str, kind: str, description: tuple, example: str = "") -> modules.Setting:
    return modules.Setting(display_name=_t(en, de), type=kind, default="", description=_t(*description),
                           example=example)


class NetworkingModule(modules.Module):
    display_name = _t("Networking", "Netzwerk")
    category = _t("Connectivity", "Konnektivität")
    description = _t("WiFi credentials, static IP addresses and DNS nameservers.",
                     "WLAN-Zugangsdaten, statische IP-Adressen und DNS-Nameserver.")
    icon = read_into_base64(_ICONS / "device.svg")

    wifi_ssid = modules.Setting(
        display_name=_t("WiFi SSID", "WiFi SSID"), nix_attr_name="thymis.config.wifi-ssid", type="string",
        default="", description=_t("The SSID of the WiFi network.", "Die SSID des WLAN-Netzwerks."), order=10)
    wifi_password = modules.Setting(
        display_name=_t("WiFi Password", "WiFi Passwort"), nix_attr_name="thymis.config.wifi-password",
        type="string", default="",
        description=_t("The password of the WiFi network.", "Das Passwort des WLAN-Netzwerks."), order=20)
    wifi_auth = modules.Setting(
        display_name=_t("WiFi Auth (wpa_supplicant config)", "WiFi Auth (wpa_supplicant config)"),
        nix_attr_name="thymis.config.wifi-auth", type="textarea", default="",
        description=_t("wpa_supplicant network lines for networks such as WPA2-Enterprise (eap=PEAP, "
                       "identity=…); instead of a WiFi password.",
                       "wpa_supplicant-Netzwerkzeilen für Netze wie WPA2-Enterprise (eap=PEAP, identity=…); "
                       "statt eines WLAN-Passworts."),
        order=30)
    wifi_auth_protocols = modules.Setting(
        display_name=_t("WiFi Auth Protocols", "WiFi Auth Protokolle"),
        nix_attr_name="thymis.config.wifi-auth-protocols",
        type=modules.ListType(
            settings={"protocol": modules.Setting(
                display_name=_t("Protocol", "Protokoll"), type=modules.SelectOneType(select_one=ALL_PROTOCOLS),
                default="WPA-PSK", description=_t("The WiFi authentication protocol.",
                                                  "Das WiFi-Authentifizierungsprotokoll."))},
            element_name=_t("Protocol", "Protokoll"),
        ),
        default=[],
        description=_t("The authentication protocols the network accepts (wpa_supplicant's key_mgmt).",
                       "Die Authentifizierungsprotokolle des Netzwerks (key_mgmt von wpa_supplicant)."),
        order=40)
    static_networks = modules.Setting(
        display_name=_t("Static Network", "Statisches Netzwerk"),
        nix_attr_name="thymis.config.networking.static-networks",
        type=modules.ListType(
            settings={
                "interface": _field("Interface", "Schnittstelle", "string", ("The interface.", "Die Schnittstelle."),
                                    "ens3"),
                "ipv4address": _field("IPv4", "IPv4", "string", ("The IPv4 address.", "Die IPv4 Adresse.")),
                "ipv4prefixLength": _field("IPv4 Prefix Length", "IPv4 Präfix Länge", "int",
                                           ("The IPv4 prefix length.", "Die IPv4 Präfix Länge.")),
                "ipv6address": _field("IPv6", "IPv6", "string", ("The IPv6 address.", "Die IPv6 Adresse.")),
                "ipv6prefixLength": _field("IPv6 Prefix Length", "IPv6 Präfix Länge", "int",
                                           ("The IPv6 prefix length.", "Die IPv6 Präfix Länge.")),
                "gateway": _field("Default Gateway IPv4", "Standard Gateway IPv4", "string",
                                  ("The default gateway IPv4.", "Das Standard Gateway IPv4.")),
                "gateway6": _field("Default Gateway IPv6", "Standard Gateway IPv6", "string",
                                   ("The default gateway IPv6.", "Das Standard Gateway IPv6.")),
                "isDefaultGateway": _field("Set as Default Gateway", "Setze als Standard Gateway", "bool",
                                           ("Set as default gateway.", "Setze als Standard Gateway.")),
            },
            element_name=_t("Network", "Netzwerk"),
            element_key="interface",
        ),
        default=None,
        description=_t("Static network configuration.", "Statische Netzwerkkonfiguration."),
        order=50)
    nameservers = modules.Setting(
        display_name=_t("Nameservers", "Nameserver"), nix_attr_name="thymis.config.networking.nameservers",
        type=modules.ListType(
            settings={"nameserver": _field("Nameserver", "Nameserver", "string",
                                           ("The DNS nameserver.", "Der DNS-Nameserver."))},
            element_name=_t("Nameserver", "Nameserver"),
        ),
        default=None,
        description=_t("Nameservers", "Nameserver"),
        order=60)
