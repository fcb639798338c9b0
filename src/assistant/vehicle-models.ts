/**
 * The makes and models the offline assistant recognises: common cars sold in the US, as data.
 * A vehicle is saved only when its model (or its make and model) is found here, so a sentence
 * like "I've got a 2017 Camry" can never become make "I've", model "Got A".
 *
 * Each model is written as people write it; aliases are other spellings a caller or speech-to-text
 * produces. Spacing and dashes between letters and digits are optional when matching ("f150",
 * "f-150" and "f 150" are one model), so aliases only list what that rule does not cover.
 *
 * `after` says what must come right before a model for it to count. Everyday words ("Fit",
 * "Escape", "Journey") need their make or a model year ("Honda Fit", "2015 Escape"), so "can you
 * fit me in" never names a car; plain numbers and short codes that are also words ("3", "500",
 * "A4", "IS") need their make ("Mazda 3", "Audi A4"), so "a 4 o'clock" never does.
 */

export interface ModelEntry {
  name: string;
  aliases?: readonly string[];
  /** What must precede the model: anything ('any', the default), its make or a year, or its make. */
  after?: 'any' | 'make_or_year' | 'make';
}

export interface MakeEntry {
  name: string;
  aliases?: readonly string[];
  models: readonly ModelEntry[];
}

const m = (name: string, extra: Omit<ModelEntry, 'name'> = {}): ModelEntry => ({ name, ...extra });
/** An everyday word as a model name: it needs its make or a model year before it. */
const word = (name: string, aliases?: readonly string[]): ModelEntry => ({ name, after: 'make_or_year', ...(aliases ? { aliases } : {}) });
/** A number or a code that is also a word: it needs its make before it. */
const bare = (name: string, aliases?: readonly string[]): ModelEntry => ({ name, after: 'make', ...(aliases ? { aliases } : {}) });

export const VEHICLE_MAKES: readonly MakeEntry[] = [
  {
    name: 'Toyota',
    models: [
      m('Camry'), m('Corolla'), m('RAV4', { aliases: ['rav four'] }), m('Highlander'), m('Tacoma'), m('Tundra'), m('Prius'),
      m('Sienna'), m('4Runner', { aliases: ['four runner', 'forerunner'] }), m('Avalon'), m('Sequoia'), m('Yaris'),
      m('Venza'), m('C-HR'), m('Land Cruiser'), word('Supra'), m('Corolla Cross'), word('Crown'),
    ],
  },
  {
    name: 'Honda',
    models: [
      m('Civic'), word('Accord'), m('CR-V', { aliases: ['crv'] }), m('HR-V', { aliases: ['hrv'] }), word('Pilot'),
      m('Odyssey'), word('Fit'), word('Passport'), m('Ridgeline'), word('Insight'), word('Element'),
    ],
  },
  {
    name: 'Ford',
    models: [
      m('F-150', { aliases: ['f one fifty', 'f one-fifty'] }), m('F-250'), m('F-350'), word('Escape'), m('Explorer'),
      word('Focus'), word('Fusion'), m('Mustang'), word('Edge'), word('Ranger'), m('Bronco'), m('Expedition'),
      word('Maverick'), word('Transit'), m('Taurus'), m('EcoSport'), m('Bronco Sport'), m('Mustang Mach-E', { aliases: ['mach e'] }),
    ],
  },
  {
    name: 'Chevrolet',
    aliases: ['chevy', 'chevrolet'],
    models: [
      m('Silverado'), m('Equinox'), m('Malibu'), m('Tahoe'), m('Suburban'), m('Traverse'), word('Colorado'), m('Impala'),
      m('Cruze'), word('Spark'), word('Bolt'), m('Camaro'), m('Corvette'), m('Blazer'), m('Trailblazer'), m('Trax'), m('Sonic'),
    ],
  },
  {
    name: 'GMC',
    models: [word('Sierra'), m('Yukon'), m('Acadia'), word('Terrain'), word('Canyon'), m('Savana')],
  },
  {
    name: 'Ram',
    aliases: ['dodge ram'],
    models: [bare('1500'), bare('2500'), bare('3500'), m('ProMaster')],
  },
  {
    name: 'Dodge',
    models: [word('Charger'), word('Challenger'), m('Durango'), m('Grand Caravan'), word('Journey'), word('Dart'), word('Hornet')],
  },
  {
    name: 'Jeep',
    models: [
      m('Wrangler'), m('Grand Cherokee'), m('Cherokee'), word('Compass'), word('Renegade'), word('Gladiator'),
      word('Patriot'), word('Liberty'), m('Wagoneer'), m('Grand Wagoneer'),
    ],
  },
  { name: 'Chrysler', models: [m('Pacifica'), bare('300'), m('Town & Country', { aliases: ['town and country'] }), word('Voyager')] },
  {
    name: 'Nissan',
    models: [
      m('Altima'), m('Sentra'), m('Maxima'), m('Pathfinder'), m('Murano'), word('Rogue'), m('Versa'), word('Frontier'),
      word('Titan'), word('Leaf'), m('Kicks'), m('Armada'), m('Juke'), m('Rogue Sport'),
    ],
  },
  {
    name: 'Hyundai',
    models: [
      m('Elantra'), word('Sonata'), m('Tucson'), m('Santa Fe'), m('Kona'), m('Palisade'), word('Accent'), word('Venue'),
      m('Ioniq'), m('Santa Cruz'),
    ],
  },
  {
    name: 'Kia',
    models: [
      m('Optima'), m('K5'), m('Sorento'), m('Sportage'), m('Telluride'), word('Soul'), m('Forte'), word('Rio'),
      m('Niro'), word('Seltos'), m('Carnival'), m('Sedona'), m('EV6'),
    ],
  },
  {
    name: 'Subaru',
    models: [
      m('Outback'), m('Forester'), m('Impreza'), m('Crosstrek'), word('Legacy'), word('Ascent'), m('WRX'), m('BRZ'),
    ],
  },
  {
    name: 'Mazda',
    models: [
      bare('3', ['three']), bare('6', ['six']), m('CX-5', { aliases: ['cx five'] }), m('CX-30', { aliases: ['cx thirty'] }),
      m('CX-9', { aliases: ['cx nine'] }), m('CX-50'), m('CX-90'), m('MX-5 Miata', { aliases: ['miata', 'mx 5'] }),
    ],
  },
  {
    name: 'Volkswagen',
    aliases: ['vw', 'volkswagon'],
    models: [m('Jetta'), m('Passat'), word('Golf'), m('Tiguan'), word('Atlas'), word('Beetle'), m('GTI'), m('ID.4'), m('Taos')],
  },
  {
    name: 'Tesla',
    models: [
      word('Model 3', ['model three']), word('Model Y'), word('Model S'), word('Model X'), m('Cybertruck'),
    ],
  },
  {
    name: 'BMW',
    aliases: ['bmw', 'beemer', 'b m w'],
    models: [
      bare('3 Series', ['three series']), bare('5 Series', ['five series']), bare('7 Series'), m('X1'), m('X3'),
      m('X5'), m('X7'), bare('i3'), m('330i'), m('328i'),
    ],
  },
  {
    name: 'Mercedes-Benz',
    aliases: ['mercedes', 'mercedes benz', 'benz'],
    models: [
      m('C-Class'), m('E-Class'), m('S-Class'), m('GLC'), m('GLE'), m('GLA'), m('Sprinter'),
    ],
  },
  { name: 'Audi', models: [bare('A3'), bare('A4'), bare('A6'), m('Q3'), m('Q5'), m('Q7'), m('e-tron', { aliases: ['etron'] })] },
  { name: 'Lexus', models: [m('RX'), bare('ES'), m('NX'), bare('IS'), m('GX'), m('LX')] },
  { name: 'Acura', models: [m('MDX'), m('RDX'), m('TLX'), m('ILX'), bare('TL'), m('Integra')] },
  { name: 'Infiniti', models: [m('Q50'), m('QX60'), m('QX50'), m('G35'), m('G37')] },
  { name: 'Cadillac', models: [m('Escalade'), m('XT5'), m('XT4'), m('CTS'), bare('ATS'), m('SRX')] },
  { name: 'Buick', models: [word('Enclave'), word('Encore'), word('Envision'), m('LaCrosse'), word('Regal')] },
  { name: 'Lincoln', models: [word('Navigator'), word('Aviator'), m('MKZ'), word('Corsair'), word('Nautilus')] },
  { name: 'Mitsubishi', models: [m('Outlander'), word('Lancer'), word('Mirage'), m('Eclipse Cross')] },
  { name: 'Volvo', models: [m('XC90'), m('XC60'), m('XC40'), m('S60'), m('V60')] },
  { name: 'Mini', models: [word('Cooper'), word('Countryman')] },
  { name: 'Porsche', models: [bare('911'), m('Cayenne'), m('Macan'), m('Panamera')] },
  { name: 'Land Rover', models: [m('Range Rover'), word('Discovery'), word('Defender'), m('Range Rover Sport'), m('Evoque')] },
  { name: 'Jaguar', models: [m('F-Pace'), m('XF'), bare('XE'), m('F-Type')] },
  { name: 'Genesis', models: [m('G70'), m('G80'), m('GV70'), m('GV80')] },
  { name: 'Fiat', models: [bare('500')] },
  { name: 'Alfa Romeo', aliases: ['alfa'], models: [word('Giulia'), word('Stelvio')] },
  { name: 'Rivian', models: [word('R1T'), word('R1S')] },
  { name: 'Polestar', models: [bare('2', ['two'])] },
  { name: 'Pontiac', models: [m('Grand Prix'), m('G6'), word('Vibe')] },
  { name: 'Scion', models: [bare('tC'), m('xB'), m('FR-S')] },
  { name: 'Mercury', models: [m('Grand Marquis'), word('Mariner'), word('Milan')] },
  { name: 'Saturn', models: [bare('Ion'), word('Vue'), word('Outlook')] },
  { name: 'Suzuki', models: [m('Grand Vitara'), m('SX4')] },
];
