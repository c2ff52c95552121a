"""The customer side of ClickHouse BYOC: one ComponentResource per concern, composed by ``deploy.deploy_byoc``.

``names`` holds what several of them share (derived names and ARNs, the tags ClickHouse discovers resources by), so
no component reads another's resources to learn a name.
"""
