"""The kinds of secret a setting accepts and how the controller processes a secret's value."""

import enum

__all__ = ["SecretProcessingTypes", "SecretTypes"]


class SecretTypes(enum.Enum):
    """What a secret holds: one line, several lines, ``KEY=value`` lines, or a file."""

    SINGLE_LINE = "single_line"
    MULTI_LINE = "multi_line"
    ENV_LIST = "env_list"
    FILE = "file"


class SecretProcessingTypes(enum.Enum):
    """What is done with a secret's value before it reaches the device: nothing, or a password hash."""

    NONE = "none"
    MKPASSWD_YESCRYPT = "mkpasswd-yescrypt"
