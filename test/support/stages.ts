/** Context that pins the prod stage in tests: a documentation-range account id and a real region name. */
export const PROD_PIN = { prodAccount: '111111111111', prodRegion: 'eu-west-1' } as const;
