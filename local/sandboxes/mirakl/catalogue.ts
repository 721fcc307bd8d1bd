/**
 * What the sandbox marketplaces sell and to whom: offers, buyers' countries, carriers and channels. All people,
 * addresses and phone numbers are invented; phone numbers use ranges regulators reserve for fiction where one
 * exists (Ofcom 07700 900xxx, ARCEP 06 39 98 xx xx, ComReg 020 91x xxxx).
 */
import type { Random } from './random';
import type { MiraklCarrier } from './types';

export interface SandboxOffer {
  offerId: number;
  sku: string;
  productSku: string;
  title: string;
  description: string;
  categoryCode: string;
  categoryLabel: string;
  unitPrice: number;
  /** Quantity Mirakl believes is available; STO01 stock imports will overwrite it. */
  quantity: number;
}

interface Place {
  city: string;
  zips: readonly string[];
  state?: string;
  streets: readonly string[];
}

export interface CountryProfile {
  iso3: string;
  name: string;
  locale: string;
  vatCode: string;
  vatRate: number;
  zone: { code: string; label: string };
  firstNames: readonly string[];
  lastNames: readonly string[];
  civilities: readonly string[];
  places: readonly Place[];
  phone(random: Random): string;
}

export interface MarketplaceProfile {
  id: string;
  apiKey: string;
  shopId: number;
  currency: string;
  orderPrefix: string;
  channels: { code: string; label: string }[];
  /** Weighted by repetition: the first countries are where most buyers live. */
  countries: CountryProfile[];
  relayDomains: string[];
  commissionRate: number;
  carriers: MiraklCarrier[];
  offers: SandboxOffer[];
  paymentTypes: string[];
}

const digits = (random: Random, n: number) => Array.from({ length: n }, () => random.int(0, 9)).join('');

const UK_FIRST = ['Oliver', 'Amelia', 'George', 'Isla', 'Harry', 'Ava', 'Jack', 'Mia', 'Noah', 'Sophie', 'Priya', 'Aisha', 'Tomasz', 'Chloe', 'Siobhan'];
const UK_LAST = ['Smith', 'Jones', 'Taylor', 'Brown', 'Williams', 'Wilson', 'Evans', 'Patel', 'Khan', 'Walker', "O'Brien", 'Murphy', 'Nowak', 'Hughes'];
const FR_FIRST = ['Camille', 'Louis', 'Léa', 'Hugo', 'Manon', 'Jules', 'Chloé', 'Lucas', 'Inès', 'Nathan', 'Zoé', 'Théo'];
const FR_LAST = ['Martin', 'Bernard', 'Dubois', 'Thomas', 'Robert', 'Richard', 'Petit', 'Durand', 'Leroy', 'Moreau', 'Lefèvre', 'Girard'];

const GBR: CountryProfile = {
  iso3: 'GBR',
  name: 'United Kingdom',
  locale: 'en_GB',
  vatCode: 'GB_VAT_STANDARD',
  vatRate: 20,
  zone: { code: 'UK-MAINLAND', label: 'UK mainland' },
  firstNames: UK_FIRST,
  lastNames: UK_LAST,
  civilities: ['Mr', 'Mrs', 'Ms', 'Miss', 'Mx'],
  places: [
    { city: 'Manchester', zips: ['M1 4BT', 'M14 5RA', 'M20 2LS'], streets: ['Oxford Road', 'Wilmslow Road', 'Deansgate'] },
    { city: 'Leeds', zips: ['LS1 5AB', 'LS6 3HN'], streets: ['Headingley Lane', 'Briggate'] },
    { city: 'Bristol', zips: ['BS1 5TR', 'BS7 8NE'], streets: ['Gloucester Road', 'Park Street'] },
    { city: 'London', zips: ['SW9 8HE', 'E8 3PB', 'N16 0XJ'], streets: ['Mare Street', 'Brixton Hill', 'Stoke Newington Church Street'] },
    { city: 'Glasgow', zips: ['G12 8QQ', 'G3 7LN'], state: 'Scotland', streets: ['Byres Road', 'Argyle Street'] },
    { city: 'Cardiff', zips: ['CF10 1EP', 'CF24 4HQ'], state: 'Wales', streets: ['Queen Street', 'Albany Road'] },
  ],
  phone: (random) => `+44 7700 900${digits(random, 3)}`,
};

const IRL: CountryProfile = {
  iso3: 'IRL',
  name: 'Ireland',
  locale: 'en_IE',
  vatCode: 'GB_VAT_STANDARD',
  vatRate: 20,
  zone: { code: 'IE', label: 'Ireland' },
  firstNames: UK_FIRST,
  lastNames: UK_LAST,
  civilities: ['Mr', 'Mrs', 'Ms'],
  places: [
    { city: 'Dublin', zips: ['D02 X285', 'D08 T6YA'], state: 'Co. Dublin', streets: ['Grafton Street', 'Thomas Street'] },
    { city: 'Cork', zips: ['T12 RW26'], state: 'Co. Cork', streets: ['Oliver Plunkett Street'] },
  ],
  phone: (random) => `+353 20 91${random.int(0, 9)} ${digits(random, 4)}`,
};

const FRA: CountryProfile = {
  iso3: 'FRA',
  name: 'France',
  locale: 'fr_FR',
  vatCode: 'FR_TVA_NORMAL',
  vatRate: 20,
  zone: { code: 'FR-METRO', label: 'France métropolitaine' },
  firstNames: FR_FIRST,
  lastNames: FR_LAST,
  civilities: ['M.', 'Mme'],
  places: [
    { city: 'Lille', zips: ['59000', '59800'], streets: ['Rue Nationale', 'Rue de Béthune'] },
    { city: 'Lyon', zips: ['69002', '69007'], streets: ['Rue de la République', 'Avenue Jean Jaurès'] },
    { city: 'Nantes', zips: ['44000'], streets: ['Rue Crébillon', 'Quai de la Fosse'] },
    { city: 'Toulouse', zips: ['31000', '31400'], streets: ["Rue d'Alsace-Lorraine", 'Allée Jean Jaurès'] },
  ],
  phone: (random) => `+33 6 39 98 ${digits(random, 2)} ${digits(random, 2)}`,
};

const BEL: CountryProfile = {
  iso3: 'BEL',
  name: 'Belgique',
  locale: 'fr_BE',
  vatCode: 'BE_TVA_NORMAL',
  vatRate: 21,
  zone: { code: 'BE', label: 'Belgique' },
  firstNames: FR_FIRST,
  lastNames: FR_LAST,
  civilities: ['M.', 'Mme'],
  places: [
    { city: 'Bruxelles', zips: ['1000', '1050'], streets: ['Rue Neuve', 'Chaussée de Wavre'] },
    { city: 'Liège', zips: ['4000'], streets: ['Rue Saint-Gilles'] },
  ],
  phone: (random) => `+32 2 555 ${digits(random, 2)} ${digits(random, 2)}`,
};

const COUNTRIES: Record<string, CountryProfile> = { GBR, IRL, FRA, BEL };

const DEBENHAMS_OFFERS: Omit<SandboxOffer, 'offerId' | 'productSku' | 'quantity'>[] = [
  { sku: 'DB-DRS-1042-BLK-12', title: 'Phase Eight Midi Wrap Dress, Black, UK 12', description: 'Jersey wrap dress with tie waist.', categoryCode: 'WOMENS_DRESSES', categoryLabel: "Women's Dresses", unitPrice: 89 },
  { sku: 'DB-JMP-2210-NVY-M', title: 'Mantaray Cable Knit Jumper, Navy, M', description: 'Cotton-blend cable knit crew neck.', categoryCode: 'MENS_KNITWEAR', categoryLabel: "Men's Knitwear", unitPrice: 35 },
  { sku: 'DB-BED-3301-DBL', title: 'Fine Bedding Co. Duvet, Double, 10.5 tog', description: 'Hypoallergenic all-season duvet.', categoryCode: 'HOME_BEDDING', categoryLabel: 'Bedding', unitPrice: 60 },
  { sku: 'DB-FRG-4410-100', title: 'Eau de Parfum 100ml', description: 'Floral eau de parfum spray.', categoryCode: 'BEAUTY_FRAGRANCE', categoryLabel: 'Fragrance', unitPrice: 72 },
  { sku: 'DB-TRN-5120-WHT-8', title: 'Leather Trainers, White, UK 8', description: 'Low-top leather trainers.', categoryCode: 'MENS_SHOES', categoryLabel: "Men's Shoes", unitPrice: 55 },
  { sku: 'DB-KET-6001-SLV', title: 'Stainless Steel Kettle 1.7L', description: 'Rapid-boil cordless kettle.', categoryCode: 'HOME_ELECTRICALS', categoryLabel: 'Small Appliances', unitPrice: 39.99 },
  { sku: 'UNMAPPED-DB-7781-TAN', title: 'Leather Card Holder, Tan', description: 'Slim card holder, six slots.', categoryCode: 'ACCESSORIES', categoryLabel: 'Accessories', unitPrice: 18 },
  { sku: 'UNMAPPED-DB-9002-RED-S', title: 'Satin Pyjama Set, Red, S', description: 'Two-piece satin pyjamas.', categoryCode: 'WOMENS_NIGHTWEAR', categoryLabel: 'Nightwear', unitPrice: 32 },
];

const DECATHLON_OFFERS: Omit<SandboxOffer, 'offerId' | 'productSku' | 'quantity'>[] = [
  { sku: 'DC-KIP-8547211-43', title: 'Kiprun KS900 Running Shoes, Men, 43', description: 'Cushioned road running shoe.', categoryCode: 'RUNNING_SHOES', categoryLabel: 'Chaussures de running', unitPrice: 120 },
  { sku: 'DC-QUE-8493322', title: 'Quechua MH500 Hiking Backpack 30L', description: 'Ventilated day-hike backpack.', categoryCode: 'HIKING_BAGS', categoryLabel: 'Sacs de randonnée', unitPrice: 49.99 },
  { sku: 'DC-BTW-8602311-M', title: 'Btwin Riverside 500 Hybrid Bike, M', description: 'Hybrid bike, 9 speeds.', categoryCode: 'BIKES_HYBRID', categoryLabel: 'Vélos tout chemin', unitPrice: 449 },
  { sku: 'DC-DOM-8376620', title: 'Domyos 20kg Dumbbell Kit', description: 'Adjustable dumbbell kit with case.', categoryCode: 'FITNESS_WEIGHTS', categoryLabel: 'Musculation', unitPrice: 69.99 },
  { sku: 'DC-TRI-8559901', title: 'Tribord 100 Swim Goggles', description: 'Anti-fog swimming goggles.', categoryCode: 'SWIM_ACCESSORIES', categoryLabel: 'Natation', unitPrice: 6.99 },
  { sku: 'DC-FOR-8611122-L', title: 'Forclaz Trek 100 Down Jacket, L', description: 'Packable down jacket.', categoryCode: 'HIKING_JACKETS', categoryLabel: 'Vestes de randonnée', unitPrice: 59.99 },
  { sku: 'UNMAPPED-DC-8000417', title: 'Kiprun Running Socks x3', description: 'Three pairs of mid-height socks.', categoryCode: 'RUNNING_ACCESSORIES', categoryLabel: 'Accessoires running', unitPrice: 9.99 },
  { sku: 'UNMAPPED-DC-8123009', title: 'Artengo TB920 Tennis Balls x4', description: 'Pressurised tennis balls.', categoryCode: 'TENNIS', categoryLabel: 'Tennis', unitPrice: 7.49 },
];

const GENERIC_OFFERS = DEBENHAMS_OFFERS.slice(0, 4);

const UK_CARRIERS: MiraklCarrier[] = [
  { code: 'ROYAL_MAIL', label: 'Royal Mail', standard_code: 'royal-mail', tracking_url: 'https://www.royalmail.com/track-your-item#/tracking-results/{trackingId}' },
  { code: 'DPD_UK', label: 'DPD UK', standard_code: 'dpd', tracking_url: 'https://track.dpd.co.uk/parcels/{trackingId}' },
  { code: 'EVRI', label: 'Evri', standard_code: 'evri', tracking_url: 'https://www.evri.com/track/parcel/{trackingId}' },
];
const FR_CARRIERS: MiraklCarrier[] = [
  { code: 'COLISSIMO', label: 'Colissimo', standard_code: 'colissimo', tracking_url: 'https://www.laposte.fr/outils/suivre-vos-envois?code={trackingId}' },
  { code: 'CHRONOPOST', label: 'Chronopost', standard_code: 'chronopost', tracking_url: 'https://www.chronopost.fr/tracking-no-cms/suivi-page?listeNumerosLT={trackingId}' },
  { code: 'DPD_FR', label: 'DPD France', standard_code: 'dpd', tracking_url: 'https://trace.dpd.fr/fr/trace/{trackingId}' },
];

export interface MarketplaceInput {
  id: string;
  apiKey: string;
  shopId?: number;
  currency?: string;
  channels?: string[];
}

const CHANNEL_LABELS: Record<string, string> = {
  UK: 'Debenhams UK',
  IE: 'Debenhams Ireland',
  FR: 'Decathlon France',
  BE: 'Decathlon Belgique',
};

function catalogue(offers: typeof DEBENHAMS_OFFERS, base: number): SandboxOffer[] {
  return offers.map((offer, i) => ({
    ...offer,
    offerId: base + i * 7,
    productSku: `MKP${String(base * 10 + i).padStart(12, '0')}`,
    quantity: 25 + ((i * 13) % 40),
  }));
}

/** Realistic defaults for the two sandbox marketplaces; any other id gets a generic EUR shop. */
export function profileFor(input: MarketplaceInput, index: number): MarketplaceProfile {
  const channels = (codes: string[]) => codes.map((code) => ({ code, label: CHANNEL_LABELS[code] ?? code }));
  if (input.id === 'debenhams') {
    return {
      id: input.id,
      apiKey: input.apiKey,
      shopId: input.shopId ?? 1187,
      currency: input.currency ?? 'GBP',
      orderPrefix: 'DEB',
      channels: channels(input.channels ?? ['UK', 'IE']),
      countries: [GBR, GBR, GBR, GBR, IRL],
      relayDomains: ['notification.mirakl.net'],
      commissionRate: 0.15,
      carriers: UK_CARRIERS,
      offers: catalogue(DEBENHAMS_OFFERS, 30410),
      paymentTypes: ['VISA', 'MASTERCARD', 'PAYPAL', 'KLARNA'],
    };
  }
  if (input.id === 'decathlon') {
    return {
      id: input.id,
      apiKey: input.apiKey,
      shopId: input.shopId ?? 2043,
      currency: input.currency ?? 'EUR',
      orderPrefix: 'DKT',
      channels: channels(input.channels ?? ['FR', 'BE']),
      countries: [FRA, FRA, FRA, BEL, GBR],
      // Decathlon relays some buyers through its own domain as well as Mirakl's.
      relayDomains: ['notification.mirakl.net', 'notification.mirakl.net', 'relay.decathlon.example'],
      commissionRate: 0.12,
      carriers: FR_CARRIERS,
      offers: catalogue(DECATHLON_OFFERS, 81200),
      paymentTypes: ['CB', 'VISA', 'PAYPAL'],
    };
  }
  return {
    id: input.id,
    apiKey: input.apiKey,
    shopId: input.shopId ?? 3000 + index,
    currency: input.currency ?? 'EUR',
    orderPrefix: input.id.replace(/[^a-z]/gi, '').slice(0, 3).toUpperCase() || 'MKP',
    channels: channels(input.channels ?? ['WEB']),
    countries: [FRA],
    relayDomains: ['notification.mirakl.net'],
    commissionRate: 0.1,
    carriers: FR_CARRIERS,
    offers: catalogue(GENERIC_OFFERS, 50000 + index * 1000),
    paymentTypes: ['VISA'],
  };
}

export function countryByIso3(iso3: string): CountryProfile | undefined {
  return COUNTRIES[iso3];
}
