"""Deploy: generate the project flake, build device systems with Nix, activate them locally or over SSH.

The library modules below take plain dataclasses and return results; they import neither the database nor
Flask. Long operations report through any object with ``progress(phase, done, total)`` and ``log(line)``
(e.g. ``jobs.context.JobContext``). Three modules connect them to the controller and do read the database:
``deploy.compose`` (devices, tags and repositories -> DeviceConfig and FlakeInput), ``deploy.jobs`` (the job
handlers, which record Deployment rows) and ``deploy.service`` (starting device jobs).

- ``deploy.model``    ModuleFile, DeviceConfig, FlakeInput
- ``deploy.render``   render_project (pure), GenerationError, ThymisOverrideConflict
- ``deploy.flake``    generate_project / write_project (Dulwich commits, nix flake lock), project_url
- ``deploy.commit_message`` describe_changes: the project commit message (what changed, in words)
- ``deploy.preview``  preview_device: a device's files and diff against an older commit
- ``deploy.build``    build -> BuildResult, BuildError (points at module files)
- ``deploy.activate`` the switch script with rollback, generations, the activation command; ActivationError
- ``deploy.targets``  parse_target -> LocalTarget, CommandTarget, SshTarget (activate, rollback, generations)
- ``deploy.hosts``    LocalHost, SshHost, SshOptions: running commands and copying closures
- ``deploy.many``     deploy_device, deploy_many (parallel with a limit), summary
- ``deploy.nixlog``   NixLog: reading Nix's internal-json log
"""
