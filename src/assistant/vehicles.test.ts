import { describe, expect, it } from 'vitest';
import { VEHICLE_MAKES } from './vehicle-models.js';
import { isComplete, mergeMention, parseVehicle, pickVehicle, tokenize } from './vehicles.js';

const LATEST_YEAR = 2027;

describe('parseVehicle', () => {
  it.each([
    // The make comes from the list when only the model is said.
    ["I've got a 2017 Camry", { year: 2017, make: 'Toyota', model: 'Camry' }],
    ['2016 Civic', { year: 2016, make: 'Honda', model: 'Civic' }],
    ['a Ford F-150', { make: 'Ford', model: 'F-150' }],
    ['my f150', { make: 'Ford', model: 'F-150' }],
    ["it's for my wife's 2020 RAV4", { year: 2020, make: 'Toyota', model: 'RAV4' }],
    ['a 2020 rav 4', { year: 2020, make: 'Toyota', model: 'RAV4' }],
    ['I have a 2019 Honda Civic', { year: 2019, make: 'Honda', model: 'Civic' }],
    ['2019 honda civic', { year: 2019, make: 'Honda', model: 'Civic' }],
    ['2018 honda cr-v', { year: 2018, make: 'Honda', model: 'CR-V' }],
    ['2018 crv', { year: 2018, make: 'Honda', model: 'CR-V' }],
    ['Toyota Camry 2020', { year: 2020, make: 'Toyota', model: 'Camry' }],
    ['2021 Tesla Model 3', { year: 2021, make: 'Tesla', model: 'Model 3' }],
    ['book my 2015 Mazda 3 for tomorrow', { year: 2015, make: 'Mazda', model: '3' }],
    ['2014 Jeep Grand Cherokee', { year: 2014, make: 'Jeep', model: 'Grand Cherokee' }],
    ['chevy silverado 2019', { year: 2019, make: 'Chevrolet', model: 'Silverado' }],
    ['a 2009 vw jetta', { year: 2009, make: 'Volkswagen', model: 'Jetta' }],
    ['a 2018 dodge ram 1500', { year: 2018, make: 'Ram', model: '1500' }],
    ['my 2010 escape', { year: 2010, make: 'Ford', model: 'Escape' }],
    // A make alone, or a make with a model it does not sell: the model is asked for, never guessed.
    ['a 2017 Toyota', { year: 2017, make: 'Toyota' }],
    ['a Honda Camry', { make: 'Honda' }],
    // Next year's models are the newest: a later year is a mishearing and is asked again.
    ['2035 Honda Civic', { make: 'Honda', model: 'Civic' }],
    ['the 2019 one', { year: 2019 }],
    // Everyday words that are also model names count only after their make or a year.
    ['can you fit me in on friday', undefined],
    ["I'd like a 4 o'clock", undefined],
    ['I need to escape early', undefined],
    ['the 2019 is fine', undefined],
    ['tomorrow at 2 pm', undefined],
    ['my name is Sam Lee', undefined],
  ])('%s', (text, expected) => {
    expect(parseVehicle(text, LATEST_YEAR)).toEqual(expected);
  });
});

describe('pickVehicle', () => {
  const cars = [
    { id: 'civic', year: 2019, make: 'Honda', model: 'Civic' },
    { id: 'truck', year: 2021, make: 'Ford', model: 'F-150' },
    { id: 'camry', year: 2019, make: 'Toyota', model: 'Camry' },
  ];

  it.each([
    ['the civic', 'civic'],
    ['the ford', 'truck'],
    ['the f150 please', 'truck'],
    ['the 2021 one', 'truck'],
    ['the toyota', 'camry'],
    ['my 2019 camry', 'camry'],
    // Two 2019 cars: the year alone does not say which.
    ['the 2019 one', undefined],
    ['the red one', undefined],
    // A car the caller does not have is not one of theirs, even if the year or make matches.
    ['my 2019 Toyota RAV4', undefined],
  ])('%s -> %s', (text, expected) => {
    expect(pickVehicle(text, cars, LATEST_YEAR)?.id).toBe(expected);
  });

  it('picks a car on file the list does not know, by its own spelling', () => {
    expect(pickVehicle('the delorean', [...cars, { id: 'dmc', year: 1981, make: 'DeLorean', model: 'DMC-12' }], LATEST_YEAR)?.id).toBe('dmc');
  });
});

describe('vehicle mentions', () => {
  it('builds a car from answers given one at a time', () => {
    const draft = mergeMention({ make: 'Toyota', model: 'Camry' }, { year: 2017 });
    expect(draft).toEqual({ make: 'Toyota', model: 'Camry', year: 2017 });
    expect(isComplete(draft)).toBe(true);
    expect(isComplete({ make: 'Toyota', year: 2017 })).toBe(false);
    // Another make drops the old make's model.
    expect(mergeMention({ year: 2017, make: 'Toyota', model: 'Camry' }, { make: 'Honda' })).toEqual({ year: 2017, make: 'Honda' });
  });

  it('reads spacing and dashes the same way', () => {
    expect(tokenize('F-150')).toEqual(tokenize('f150'));
    expect(tokenize('RAV4')).toEqual(tokenize('rav 4'));
  });

  it('keeps the list unambiguous: no model spelling belongs to two makes', () => {
    const owners = new Map<string, string>();
    for (const make of VEHICLE_MAKES) {
      for (const model of make.models) {
        for (const spelling of [model.name, ...(model.aliases ?? [])]) {
          const key = tokenize(spelling).join(' ');
          if ((model.after ?? 'any') === 'make') continue;
          expect(owners.get(key) ?? make.name, `${spelling} is listed under ${owners.get(key)} and ${make.name}`).toBe(make.name);
          owners.set(key, make.name);
        }
      }
    }
    expect(VEHICLE_MAKES.length).toBeGreaterThanOrEqual(40);
  });
});
