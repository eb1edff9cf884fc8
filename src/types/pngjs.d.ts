// Minimal typings for the parts of pngjs (v7) that src/image-node.ts uses.
declare module 'pngjs' {
  interface PNGReadOptions {
    checkCRC?: boolean;
    skipRescale?: boolean;
  }
  interface PNGDecoded {
    width: number;
    height: number;
    depth: number;
    colorType: number;
    interlace: boolean;
    palette: boolean;
    color: boolean;
    alpha: boolean;
    gamma: number;
    /** RGBA, 8 bits per channel (16-bit input is rescaled unless skipRescale). */
    data: Uint8Array;
  }
  export const PNG: {
    sync: {
      read(buffer: Uint8Array, options?: PNGReadOptions): PNGDecoded;
    };
  };
}
