"""End-to-end suite: the program, the policy pack and the stack script through a real Pulumi CLI (`make e2e`)."""
