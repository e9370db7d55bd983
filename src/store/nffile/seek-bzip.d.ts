// SPDX-License-Identifier: BSD-3-Clause
// Types for the part of seek-bzip (pure-JS bzip2 decoder, no bundled types) that the nffile reader uses.
declare module "seek-bzip" {
  interface Bunzip {
    /** Decodes a whole bzip2 stream; without `output`, returns a freshly sized Buffer. */
    decode(input: Buffer, output?: Buffer | number, multistream?: boolean): Buffer;
  }
  const bunzip: Bunzip;
  export default bunzip;
}
