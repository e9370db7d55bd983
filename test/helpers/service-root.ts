// SPDX-License-Identifier: BSD-3-Clause
/** Where tests run as root put a service's files that another user (postgres) must reach: CI's TMPDIR sits below
 *  a private (0700) directory. The fs guard allows this tree. */
export const SERVICE_ROOT = "/tmp/tsflow-test-services";
